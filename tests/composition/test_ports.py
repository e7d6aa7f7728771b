"""Port[T]: the null implementation until something is plugged in, once."""

from __future__ import annotations

import pytest

from homeserver.util.ports import Port


def test_null_until_plugged_then_plugged_once() -> None:
    port: Port[str] = Port("null")
    assert port.get() == "null" and not port.plugged
    port.plug("real")
    assert port.get() == "real" and port.plugged
    with pytest.raises(RuntimeError):
        port.plug("again")
