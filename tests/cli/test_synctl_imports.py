"""synctl's own start-up loads the command line, not the whole server.

Every ``synctl`` run (init, config set, start, stop, ...) is a new Python
process; the server is built only by ``python -m homeserver`` (which ``synctl
start`` spawns) and by ``synctl import-synapse`` when it opens its target. The
composition root imports every domain, which would make each synctl command
cost about four times the CPU; the process test tiers run synctl hundreds of
times.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _assert_none_loaded(probe: str) -> None:
    """Run ``probe`` (which prints a list of modules) in a fresh interpreter:
    the list must be empty."""
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_the_command_line_does_not_load_the_composition_root() -> None:
    probe = (
        "import sys\n"
        "from homeserver.cli.main import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in sys.modules if m.startswith('homeserver.composition')))\n"
    )
    _assert_none_loaded(probe)


def test_opening_the_database_does_not_load_the_server(tmp_path: Path) -> None:
    """``synctl user``, ``room`` and ``threepid`` open the database in the
    synctl process; that needs the engines and migrations, not the server."""
    data = tmp_path / "data"
    subprocess.run(
        [sys.executable, str(REPO / "synctl"), "init", "--data-dir", str(data),
         "--server-name", "localhost"],
        capture_output=True, cwd=REPO, timeout=60, check=True,
    )  # fmt: skip
    probe = (
        "import sys\n"
        "from homeserver.cli.datadir import DataDir\n"
        "from homeserver.cli.inline import open_database\n"
        f"open_database(DataDir({str(data)!r})).close()\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('homeserver.composition', 'homeserver.app'))))\n"
    )
    _assert_none_loaded(probe)
