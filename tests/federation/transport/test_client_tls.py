"""The real outbound client against a real TLS listener on loopback.

Each scenario of tls_scenarios.py runs in a subprocess with the global
reactor: b.test's site served over TLS with a self-signed certificate, and a
``FederationClient`` for a.test with an injected resolver (b.test ->
127.0.0.1, its SRV record -> the listener's port).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def _run(scenario: str, tmp_path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.federation.transport.tls_scenarios",
            scenario,
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stderr[-3000:]
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def test_signed_requests_over_tls(tmp_path: Path) -> None:
    # The probe on b.test checked the X-Matrix signature (path, query, body).
    assert _run("signed", tmp_path) == {"ok": [{"origin": "a.test"}, "Chatly", 404]}


def test_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    outcome = _run("strict", tmp_path)
    assert outcome["error"] == "RequestSendFailed"


def test_trusted_certificate_for_the_right_name(tmp_path: Path) -> None:
    assert _run("trusted", tmp_path) == {"ok": "Chatly"}


def test_loopback_is_blacklisted_by_default(tmp_path: Path) -> None:
    outcome = _run("blacklisted", tmp_path)
    assert outcome["error"] == "RequestSendFailed"
    assert outcome["retriable"] is False


def test_all_digit_server_name_fails_fast(tmp_path: Path) -> None:
    outcome = _run("all_digits", tmp_path)
    assert outcome["error"] == "RequestSendFailed", outcome
    assert outcome["retriable"] is False


def test_ip_literal_needs_no_lookups(tmp_path: Path) -> None:
    assert _run("ip_literal", tmp_path) == {"ok": "b.test"}


def test_answers_over_the_size_limit_fail(tmp_path: Path) -> None:
    outcome = _run("too_large", tmp_path)
    # ResponseTooLarge is the RequestSendFailed for this case.
    assert outcome["error"] == "ResponseTooLarge", outcome
    assert "larger than 100000 bytes" in outcome["message"]


def test_answers_within_the_size_limit_are_read(tmp_path: Path) -> None:
    assert _run("large_enough", tmp_path) == {"ok": 300_000}
