"""Progress bars of synctl's long commands (tqdm, on stderr)."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(*, quiet: bool, unit: str, total: int | None = None) -> tqdm:
    """A bar on stderr, drawn only when stderr is a terminal: in a log file or
    a pipe tqdm's carriage-return redraws leave fragments such as ``0user``.

    Args:
        quiet: no bar at all (``--quiet``).
        unit: what is counted (``user``, ``room``).
        total: how many there will be, if known.
    """
    # disable=None: tqdm's own "off unless the stream is a TTY".
    return tqdm(
        total=total, unit=unit, file=sys.stderr, disable=True if quiet else None
    )
