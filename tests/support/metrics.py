"""Reading Prometheus text (/metrics) in tests: samples and how they grew."""

from __future__ import annotations

import re

SAMPLE = re.compile(r"^(\w+)(?:\{([^}]*)\})? (\S+)$")
# The per-request debug line of util/db_usage.py.
DB_LINE = re.compile(
    r"^db: (\d+) txns, (\d+) statements, (\d+) round trips, (\d+) rows, [\d.]+ ms$"
)

Samples = dict[tuple[str, str], float]


def parse_samples(text: str) -> Samples:
    """Every sample of a /metrics body, by (metric name, label text)."""
    samples: Samples = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            samples[(match[1], match[2] or "")] = float(match[3])
    return samples


def delta(
    before: Samples, after: Samples, metric: str, labels: str | None = None
) -> float:
    """How much ``metric`` (one label set, or all of them) grew."""
    return sum(
        value - before.get(key, 0.0)
        for key, value in after.items()
        if key[0] == metric and (labels is None or key[1] == labels)
    )


def db_line(message: str) -> tuple[int, int, int] | None:
    """(txns, statements, rows) of a ``db: ...`` debug line, else None."""
    match = DB_LINE.match(message)
    return (int(match[1]), int(match[2]), int(match[4])) if match else None


def db_line_round_trips(message: str) -> int | None:
    """The round trips of a ``db: ...`` debug line, else None."""
    match = DB_LINE.match(message)
    return int(match[3]) if match else None
