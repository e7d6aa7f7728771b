"""``Port[T]``: a collaborator from a higher layer, plugged in after building.

A service that can use something only a higher layer provides (federation
joins, remote profile queries, backfill) declares a Protocol for it and a null
implementation that does what the service does without it (refuse, or do
nothing). Its constructor makes ``Port(null)``; the composition root's bind
step plugs the real implementation in when that layer is switched on. The
service always calls ``self.port.get()``: there is no ``None`` to check.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Port(Generic[T]):
    """One pluggable collaborator.

    Args:
        null: used until (and unless) something is plugged in.
    """

    def __init__(self, null: T) -> None:
        self._null = null
        self._impl = null

    def get(self) -> T:
        """The implementation: the plugged one, or the null one."""
        return self._impl

    @property
    def plugged(self) -> bool:
        """Whether a real implementation was plugged in."""
        return self._impl is not self._null

    def plug(self, impl: T) -> None:
        """Use ``impl`` from now on (once, in the bind step).

        Raises:
            RuntimeError: something is plugged in already.
        """
        if self.plugged:
            raise RuntimeError(f"port already plugged with {self._impl!r}")
        self._impl = impl
