"""Progress bars of synctl's long commands (tqdm, on stderr)."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

# Seconds between progress lines when stderr is no terminal.
LINE_INTERVAL = 5.0


class _Lines:
    """A stream for tqdm that is no terminal (a log file, a pipe): each redraw
    becomes a line of its own, instead of carriage-return fragments such as
    ``0user``, and a redraw that repeats the last line is left out."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last = ""

    def write(self, text: str) -> None:
        line = text.replace("\r", "").replace("\x1b[A", "").strip()
        if line and line != self._last:
            self._last = line
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(*, quiet: bool, unit: str, total: int | None = None) -> tqdm:
    """A bar on stderr. When stderr is no terminal, work of a known size
    writes a progress line every few seconds and one at the end (``2/5
    files ...``); a count of unknown size (a listing) writes nothing there.

    Args:
        quiet: no progress at all (``--quiet``).
        unit: what is counted (``user``, ``room``).
        total: how many there will be, if known.
    """
    if sys.stderr.isatty():
        return tqdm(total=total, unit=unit, file=sys.stderr, disable=quiet)
    if total is None:
        return tqdm(unit=unit, disable=True)
    return tqdm(
        total=total,
        unit=" " + unit,
        file=_Lines(sys.stderr),
        disable=quiet,
        mininterval=LINE_INTERVAL,
        ascii=True,
        dynamic_ncols=False,
        ncols=80,
    )
