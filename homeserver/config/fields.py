"""The ``option()`` helper: an attrs field that carries its own documentation."""

from __future__ import annotations

from typing import Any

import attrs


def option(
    default: Any = attrs.NOTHING,
    *,
    doc: str,
    example: Any = None,
    secret: bool = False,
    factory: Any = None,
    validator: Any = None,
) -> Any:
    """Declare a config option.

    Args:
        default: the default value (omit for a required option).
        doc: what the option does; it becomes the comment in the sample config.
        example: a value to show in the sample instead of the default.
        secret: the option may instead be read from a file named by ``<key>_path``.
        factory: a default factory, for mutable defaults.
        validator: an attrs validator.
    """
    metadata = {"doc": doc, "example": example, "secret": secret}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata, validator=validator)
    return attrs.field(default=default, metadata=metadata, validator=validator)


def positive(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    """Validator: a number above zero."""
    if value is not None and value <= 0:
        raise ValueError(f"expected a number above zero, got {value}")


def port_number(_inst: Any, attribute: attrs.Attribute, value: int) -> None:
    """Validator: a TCP port."""
    if not 0 < value < 65536:
        raise ValueError(f"expected a port between 1 and 65535, got {value}")
