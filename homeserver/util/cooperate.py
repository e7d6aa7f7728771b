"""Long CPU-bound loops on the reactor thread, broken up so they don't stall
every other request (e.g. checking the 100,000 state events of a room we
join: seconds of signature checks)."""

from __future__ import annotations

from homeserver.util.clock import Clock

# Steps between reactor turns: about 40 ms of event checks.
STEPS_PER_TURN = 100


class Cooperator:
    """Counts the steps of one loop and lets the reactor run every
    ``every`` steps (never without a clock)."""

    def __init__(self, clock: Clock | None, every: int = STEPS_PER_TURN) -> None:
        self.clock = clock
        self.every = every
        self.steps = 0

    async def step(self) -> None:
        """Call once per step of the loop."""
        self.steps += 1
        if self.clock is not None and self.steps % self.every == 0:
            await self.clock.sleep(0)
