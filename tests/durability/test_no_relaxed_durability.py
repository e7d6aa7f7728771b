"""Nothing the server ships relaxes durability (issue 17, part 3): no
``synchronous_commit`` change, no ``fsync``/``full_page_writes`` off, no
unlogged tables, no SQLite ``synchronous=OFF`` or in-memory journal — in the
code, the schema, the sample config or synctl. (tests/databases.py turns
``synchronous_commit`` off for the throw-away test databases only; the kill -9
test in test_kill9.py runs with the production settings and checks them on
the live database.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["homeserver", "config", "plugins", "synctl"]
SUFFIXES = {".py", ".sql", ".yaml", ".yml", ".conf", ""}

RELAXING = re.compile(
    # synchronous_commit set to off, however it is written (a mention of the
    # setting, as in a comment saying it is left alone, is no hit).
    r"""synchronous_commit['"]?\s*(?:=|:|,|\bto\b)\s*['"]?off\b"""
    r"|\bunlogged\b"
    r"|full_page_writes"
    r"|\bfsync\b\s*[=:]?\s*'?(?:off|false|0)\b"
    r"|\bsynchronous\s*=\s*'?(?:off|0)\b"
    r"|journal_mode\s*=\s*'?(?:off|memory)\b",
    re.IGNORECASE,
)


def _shipped_files() -> list[Path]:
    files = []
    for name in SHIPPED:
        path = ROOT / name
        found = [path] if path.is_file() else sorted(path.rglob("*"))
        files += [p for p in found if p.is_file() and p.suffix in SUFFIXES]
    return files


def test_nothing_shipped_relaxes_durability() -> None:
    files = _shipped_files()
    assert any(p.suffix == ".sql" for p in files), "the schema was not scanned"
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(
            path.read_text(errors="replace").splitlines(), start=1
        )
        if RELAXING.search(line)
    ]
    assert not hits, "durability relaxed:\n" + "\n".join(hits)


@pytest.mark.parametrize(
    "line",
    [
        "SET synchronous_commit = off",
        "SET synchronous_commit TO 'off'",
        "cur.execute(\"SELECT set_config('synchronous_commit', 'off', false)\")",
        "synchronous_commit: off",
        "options='-c synchronous_commit=off'",
        "CREATE UNLOGGED TABLE events_tmp (x INT)",
        "ALTER TABLE events SET UNLOGGED",
        "ALTER SYSTEM SET fsync = off",
        "fsync: false",
        "SET full_page_writes TO off",
        'conn.execute("PRAGMA synchronous=OFF")',
        "PRAGMA journal_mode=MEMORY",
    ],
)
def test_the_scan_catches_each_way_of_relaxing(line: str) -> None:
    assert RELAXING.search(line)


@pytest.mark.parametrize(
    "line",
    [
        "os.fsync(stream.fileno())",
        "# REPEATABLE READ; the server's synchronous_commit is left as it is.",
        "SET synchronous_commit = on",
        'conn.execute("PRAGMA synchronous=NORMAL")',
        'conn.execute("PRAGMA journal_mode=WAL")',
    ],
)
def test_the_scan_passes_what_keeps_durability(line: str) -> None:
    assert not RELAXING.search(line)
