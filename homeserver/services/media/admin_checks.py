"""Checks of the media admin API's parameters, shared by its services."""

from __future__ import annotations

from homeserver.errors import InvalidParam, MissingParam

# Timestamps below this are seconds (or a mistake), not milliseconds: Synapse
# refuses them as "from the year 1970".
_MIN_TS_MS = 30_000_000_000


def check_before_ts(before_ts: int | None) -> int:
    """``before_ts`` (ms) if usable.

    Raises:
        MatrixError: 400 M_MISSING_PARAM if absent; 400 M_INVALID_PARAM if
            negative or so small it must be in seconds.
    """
    if before_ts is None:
        raise MissingParam("before_ts")
    if before_ts < 0:
        raise InvalidParam("Query parameter before_ts must be a positive integer.")
    if before_ts < _MIN_TS_MS:
        raise InvalidParam(
            "Query parameter before_ts you provided is from the year 1970. "
            "Double check that you are providing a timestamp in milliseconds."
        )
    return before_ts
