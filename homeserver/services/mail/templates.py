"""Mail templates: Jinja2, shipped in this package and replaceable by file
name from the admin's ``email.template_dir``.

Each mail has an ``<name>.html`` and an ``<name>.txt`` template; HTML is
autoescaped, text is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2


class MailTemplates:
    """Renders the HTML and text parts of a mail."""

    def __init__(self, template_dir: str | None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if template_dir:
            loaders.append(jinja2.FileSystemLoader(template_dir))
        loaders.append(jinja2.PackageLoader("homeserver.services.mail", "templates"))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(["html"], default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, name: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """The (html, text) parts of mail ``name`` filled with ``context``."""
        html = self._env.get_template(f"{name}.html").render(context)
        text = self._env.get_template(f"{name}.txt").render(context)
        return html, text

    def check(self, names: list[str]) -> None:
        """Load every template of ``names`` now, so a broken admin template
        stops the server at start rather than the first mail.

        Raises:
            jinja2.TemplateError: a template is missing or does not parse.
        """
        for name in names:
            self._env.get_template(f"{name}.html")
            self._env.get_template(f"{name}.txt")

    def render_page(self, name: str, context: Mapping[str, Any]) -> str:
        """A web page (``<name>.html``) served by the server, e.g. the
        unsubscribe confirmation."""
        return self._env.get_template(f"{name}.html").render(context)
