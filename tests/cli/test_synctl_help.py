"""``synctl --help`` and every subcommand's help describe themselves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from homeserver.cli import main

REPO = Path(__file__).resolve().parents[2]

COMMANDS = [
    ([], "Manage a Chatly homeserver"),
    (["init"], "signing key"),
    (["start"], "in the background"),
    (["stop"], "SIGTERM"),
    (["restart"], "start it again"),
    (["status"], "LSB"),
    (["register-user"], "shared-secret"),
    (["config"], "dotted paths"),
    (["config", "check"], "Validate"),
    (["config", "show"], "effective config"),
    (["config", "get"], "KEY"),
    (["config", "set"], "validated first"),
    (["config", "unset"], "default"),
    (["workers"], "worker processes"),
    (["workers", "generate"], "HAProxy config"),
]


@pytest.mark.parametrize(("command", "phrase"), COMMANDS)
def test_help(
    capsys: pytest.CaptureFixture[str], command: list[str], phrase: str
) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: synctl " + " ".join(command))
    assert phrase in " ".join(out.split())  # help text is wrapped
    if command and command not in (["config"], ["workers"]):
        assert "--data-dir DIR" in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: synctl" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("Chatly ")


def test_script_runs_from_anywhere(tmp_path: Path) -> None:
    """The top-level script works from a fresh clone, from any directory."""
    result = subprocess.run(
        [str(REPO / "synctl"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        # `#!/usr/bin/env python3` must find the interpreter that has the deps.
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "usage: synctl" in result.stdout


def test_script_exit_status_and_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "synctl"), "config", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no config at" in result.stderr
    assert "synctl init" in result.stderr
    assert "Traceback" not in result.stderr
