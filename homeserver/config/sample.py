"""Generate the documented sample config from the config model.

``config/homeserver.sample.yaml`` is this module's output; a test checks that
the committed file matches, so docs and model cannot drift.
"""

from __future__ import annotations

import textwrap
import typing
from typing import Any

import attrs
import yaml

from homeserver.config.model import HomeserverConfig
from homeserver.util.structure import field_key, unstructure

HEADER = """\
# Chatly homeserver configuration.
#
# This file is generated from the config model (homeserver/config/model.py) by
# `python -m homeserver.config.sample`; every option is listed with its default.
# Durations take units (ms, s, m, h, d, w, y); sizes take K, M or G.
# A secret option `x` may instead be read from a file with `x_path: /some/file`.
"""


def _dump_scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, 80 - len(indent))]


def _sample_value(field: attrs.Attribute) -> Any:
    example = field.metadata.get("example")
    if example is not None:
        return example
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory()
    return None if field.default is attrs.NOTHING else field.default


def _emit(cls: type, instance: Any, indent: str, lines: list[str]) -> None:
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        key = field_key(field)
        lines.extend(_comment(field.metadata.get("doc", ""), indent))
        if field.metadata.get("secret"):
            lines.extend(_comment(f"Or read it from a file: {key}_path.", indent))
        tp = hints[field.name]
        if instance is not None and field.metadata.get("example") is None:
            value = getattr(instance, field.name)
        else:
            value = _sample_value(field)
        if attrs.has(tp):
            lines.append(f"{indent}{key}:")
            _emit(tp, value, indent + "  ", lines)
        elif isinstance(value, list) and value and attrs.has(type(value[0])):
            lines.append(f"{indent}{key}:")
            for item in value:
                dumped = yaml.safe_dump(unstructure(item), sort_keys=False).splitlines()
                lines.append(f"{indent}  - {dumped[0]}")
                lines.extend(f"{indent}    {line}" for line in dumped[1:])
        else:
            lines.append(f"{indent}{key}: {_dump_scalar(unstructure(value))}")
        if lines[-1]:
            lines.append("")


def generate_sample() -> str:
    """The sample homeserver.yaml text."""
    lines: list[str] = []
    _emit(HomeserverConfig, None, "", lines)
    return HEADER + "\n" + "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(generate_sample(), end="")
