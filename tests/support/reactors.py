"""Running a real reactor (outbound requests to a local server) and a test
server's fake one together."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# A safety net for a broken test, never an assertion about timing.
SAFETY_NET_S = 60.0


def pump_both(
    real: Any, fake: Any, until: Callable[[], bool], advance: float = 0
) -> None:
    """Iterate the ``real`` reactor and advance the ``fake`` one until
    ``until()`` holds (``advance``: seconds of fake time to move on each
    turn, to let retry timers fire)."""
    deadline = time.monotonic() + SAFETY_NET_S
    while not until():
        assert time.monotonic() < deadline, "the condition never held"
        real.iterate(0.005)
        fake.advance(advance)
