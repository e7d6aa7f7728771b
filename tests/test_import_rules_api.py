"""Layering: the services never import the API layer.

Endpoints (``homeserver.api``) parse requests and call services; a service
gets typed values (a body model through a Protocol of its own, a client IP, a
``UiaOperation``), never an ``ApiRequest``. Every import statement of every
module under ``homeserver/services`` is read with ``ast`` (also those inside
functions and ``if TYPE_CHECKING:`` blocks, and relative ones), so the rule
cannot be dodged by importing late.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "homeserver" / "services"
FORBIDDEN = "homeserver.api"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in ``source``, a module of
    ``package`` (which resolves its relative imports); a ``from X import y``
    counts as both ``X`` and ``X.y``."""
    parts = package.split(".")
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, *([module] if module else [])])
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _package_of(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _is_api(module: str) -> bool:
    return module == FORBIDDEN or module.startswith(FORBIDDEN + ".")


def test_services_never_import_the_api() -> None:
    files = sorted(SERVICES.rglob("*.py"))
    assert len(files) > 20, "homeserver/services should hold the services"
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in files
        for line, module in imported_modules(
            path.read_text(encoding="utf-8"), _package_of(path)
        )
        if _is_api(module)
    ]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize(
    "source",
    [
        "from homeserver.api.http.request import ApiRequest\n",
        "import homeserver.api.http.request\n",
        "from homeserver import api\n",
        "from ...api.http import request\n",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from homeserver.api.http.request import ApiRequest\n",
        "def f() -> None:\n    import homeserver.api\n",
    ],
)
def test_the_check_sees_every_form_of_import(source: str) -> None:
    """The checker itself: each of these, in a service module, is caught."""
    modules = imported_modules(source, "homeserver.services.accounts")
    assert any(_is_api(module) for _, module in modules), source


def test_the_check_lets_other_imports_be() -> None:
    source = (
        "from homeserver.services.accounts.auth import Requester\n"
        "from ..rooms import membership\n"
        "import homeserver.apis_elsewhere\n"
    )
    modules = imported_modules(source, "homeserver.services.accounts")
    assert not [m for _, m in modules if _is_api(m)]
    assert (2, "homeserver.services.rooms.membership") in modules
