"""The one place a plugin's ``PluginAPI`` facade is made.

``make_plugin_api(hs, name, config)`` is what every plugin is constructed with
(``cls(api, config)``); the facade itself lives in ``homeserver/plugins/api.py``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeserver.composition.server import HomeServer


class _FacadePending:
    """Stand-in until the ``PluginAPI`` facade lands: the plugin's name and
    its named logger only."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.logger = logging.getLogger(f"chatly.plugins.{name}")


def make_plugin_api(hs: HomeServer, name: str, config: Any) -> Any:
    """The facade the plugin called ``name`` gets (``config``: its parsed
    settings, an instance of its ``CONFIG`` class, or None)."""
    return _FacadePending(name)
