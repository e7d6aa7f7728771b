"""Load homeserver.yaml into a typed, validated HomeserverConfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from homeserver.config.model import HomeserverConfig
from homeserver.util.structure import Problem, StructureError, structure


class ConfigError(Exception):
    """The config cannot be used; ``problems`` says every reason, with key paths."""

    def __init__(self, problems: list[Problem], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        super().__init__(self.describe())

    def describe(self) -> str:
        """A human-readable report, one problem a line."""
        lines = [f"{self.source}: {len(self.problems)} problem(s):"]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


def parse_config(
    data: Any, *, base_dir: Path | None = None, source: str = "config"
) -> HomeserverConfig:
    """Build a HomeserverConfig from already-parsed YAML.

    Raises:
        ConfigError: listing every problem with its key path.
    """
    try:
        return structure(HomeserverConfig, data, strict=True, base_dir=base_dir)
    except StructureError as exc:
        raise ConfigError(exc.problems, source) from None


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, turning any failure into a ConfigError."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(
            [Problem("", f"cannot read: {exc.strerror}")], str(path)
        ) from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            [Problem("", f"{where}invalid YAML: {problem}")], str(path)
        ) from None


def load_config(path: Path) -> HomeserverConfig:
    """Load and validate the YAML file at ``path``.

    Relative ``*_path`` secrets are read relative to the file's directory.
    """
    return parse_config(read_yaml(path), base_dir=path.parent, source=str(path))
