"""Sampling a running server with py-spy while a benchmark measures it.

``py-spy record --nonblocking`` samples the server's threads without pausing
them (so the figures the benchmark takes are barely disturbed) and writes
collapsed stacks ("frame;frame;frame count" per line). ``summarise`` turns
those into the functions that hold the most samples, by their own time and
including what they call.

By default only the thread holding the GIL is sampled (``--gil``): that is
where Python code spends CPU, and the reactor thread and the database pool's
threads take turns at it. Sampling every thread that is not idle instead
(``gil=False``) also counts threads waiting for the GIL, which on a loaded
server charges time to whichever line a thread happened to stop at (a
function's first line, a comprehension): wall time, not CPU. C code that runs
without the GIL (SQLite executing a statement, socket writes) is seen only
in that second mode. py-spy is a PyPI package (``pip install py-spy``);
without it the benchmark runs unprofiled and says so.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
from pathlib import Path

STOP_TIMEOUT = 60.0


class Sampler:
    """py-spy recording one process into ``out`` until ``stop``."""

    def __init__(self, pid: int, out: Path, gil: bool = True, rate: int = 200) -> None:
        self.out = out
        exe = shutil.which("py-spy")
        if exe is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(out),
                *(["--gil"] if gil else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        """Stop sampling; py-spy writes its file on SIGINT."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)


def _short(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"; the line
    # number is dropped so one function is one row.
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    marker = "homeserver/"
    if path.startswith(marker) or f"/{marker}" in path:
        path = marker + path.split(marker, 1)[1]
    else:
        path = "/".join(path.split("/")[-2:])
    return f"{name} ({path})"


# The process's entry frames, on every reactor stack: left out of "ours".
ENTRY = ("main (homeserver/app.py)", "<module> (homeserver/__main__.py)")
IDLE_LEAVES = ("Condition.wait", "EPollReactor.doPoll")


def _idle(frames: list[str]) -> bool:
    """A thread waiting for work (a pool thread) or for sockets (the reactor)."""
    leaf = frames[-1]
    if leaf.startswith(IDLE_LEAVES):
        return True
    return leaf.startswith("untilConcludes") and frames[-2].startswith(
        "EPollReactor.doPoll"
    )


def summarise(raw: Path, top: int = 30) -> str:
    """Where the busy samples of a py-spy raw file went.

    Three lists: functions by their own samples; this project's functions
    (``homeserver/``) including what they call; and each busy sample charged
    to the deepest ``homeserver/`` frame on its stack, i.e. which of our
    functions the time is spent in or under (library code included).
    """
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    samples = idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";") if f]
        if not frames:
            continue
        if _idle(frames):
            idle += count
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            if "(homeserver/" in frame and not frame.startswith(ENTRY):
                total[frame] += count
        deepest = next(
            (
                f
                for f in reversed(frames)
                if "(homeserver/" in f and not f.startswith(ENTRY)
            ),
            None,
        )
        ours[deepest or "(outside homeserver/: reactor, HTTP, threads)"] += count
    if not samples:
        return f"{raw}: no busy samples\n"
    lines = [f"{raw.name}: {samples} busy samples ({idle} idle left out)", ""]
    for title, counter in (
        ("own time:", own),
        ("homeserver/ functions including callees:", total),
        ("charged to the deepest homeserver/ frame:", ours),
    ):
        lines.append(title)
        lines += [f"  {c / samples:6.1%}  {f}" for f, c in counter.most_common(top)]
        lines.append("")
    return "\n".join(lines)
