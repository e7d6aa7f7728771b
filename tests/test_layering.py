"""The layering rules of docs/architecture.md, checked on the imports.

Every ``import`` in ``homeserver/`` is read with ``ast``. The layer rules count
every import anywhere in a module (``if TYPE_CHECKING:`` blocks and function
bodies too: a layer that must not know another must not name it). The cycle
rule counts what runs at import time: module-level imports outside
``if TYPE_CHECKING:`` blocks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "homeserver"


@attrs.frozen
class Import:
    """One imported module, as seen from the importing module."""

    target: str
    line: int
    at_import_time: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(nodes: list[ast.stmt], module: str, at_import_time: bool) -> Iterator[Import]:
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield from _imports(node, module, at_import_time)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield from _imports(inner, module, False)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk(node.body, module, False)
            yield from _walk(node.orelse, module, at_import_time)
        else:
            yield from _walk(_child_statements(node), module, at_import_time)


def _child_statements(node: ast.stmt) -> list[ast.stmt]:
    """The statements nested in a compound statement (class, if, try, ...)."""
    found: list[ast.stmt] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt):
            found.append(child)
        elif isinstance(child, ast.excepthandler | ast.match_case):
            found.extend(child.body)
    return found


def _imports(
    node: ast.Import | ast.ImportFrom, module: str, at_import_time: bool
) -> Iterator[Import]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield Import(alias.name, node.lineno, at_import_time)
    else:
        yield from _from_import(node, module, at_import_time)


def _from_import(
    node: ast.ImportFrom, module: str, at_import_time: bool
) -> Iterator[Import]:
    base = node.module or ""
    if node.level:
        package = module.split(".")
        is_package = _modules()[module].name == "__init__.py"
        anchor = package if is_package else package[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    submodules = [f"{base}.{a.name}" for a in node.names]
    for target in submodules:
        if target in _modules():
            yield Import(target, node.lineno, at_import_time)
    # ``from package import module`` asks nothing of the package itself.
    if not all(target in _modules() for target in submodules):
        yield Import(base, node.lineno, at_import_time)


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    """Every ``homeserver`` module ``module`` imports."""
    tree = ast.parse(_modules()[module].read_text())
    return tuple(
        i for i in _walk(tree.body, module, True) if i.target.startswith("homeserver")
    )


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(importer: str, forbidden: tuple[str, ...]) -> list[str]:
    """``module:line -> target`` for each import from ``importer``'s package
    of a module in one of the ``forbidden`` packages."""
    return [
        f"{module}:{imp.line} -> {imp.target}"
        for module in _modules()
        if _in(module, importer)
        for imp in imports_of(module)
        if any(_in(imp.target, f) for f in forbidden)
    ]


def test_services_never_import_federation_or_composition() -> None:
    assert (
        violations(
            "homeserver.services", ("homeserver.federation", "homeserver.composition")
        )
        == []
    )


def test_services_never_import_the_plugin_host() -> None:
    """Plugins reach services through the Protocols services declare
    (``services/rooms/ports.py``, ``services/accounts/policy.py``)."""
    assert violations("homeserver.services", ("homeserver.plugins",)) == []


def test_plugin_host_never_imports_api_or_federation() -> None:
    forbidden = ("homeserver.api", "homeserver.federation", "homeserver.composition")
    assert violations("homeserver.plugins", forbidden) == []


def test_services_never_import_api() -> None:
    assert violations("homeserver.services", ("homeserver.api",)) == []


@pytest.mark.parametrize("pure", ["homeserver.events", "homeserver.state"])
def test_events_and_state_are_pure(pure: str) -> None:
    forbidden = (
        "homeserver.api",
        "homeserver.services",
        "homeserver.storage",
        "homeserver.federation",
        "homeserver.composition",
    )
    assert violations(pure, forbidden) == []


def test_storage_never_imports_api() -> None:
    assert violations("homeserver.storage", ("homeserver.api",)) == []


def _graph() -> dict[str, set[str]]:
    """Module -> the modules it imports at import time. Only the modules
    named count: a package's ``__init__`` that imports its own modules is
    not a cycle with them (they never ask for the package's names)."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module in modules:
        for imp in imports_of(module):
            if imp.at_import_time and imp.target in modules and imp.target != module:
                graph[module].add(imp.target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycles() -> None:
    assert import_cycles(_graph()) == []


def test_the_checks_see_imports() -> None:
    """The rules are not vacuous: known imports and a known cycle are found."""
    assert violations("homeserver.composition", ("homeserver.federation",))
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]
