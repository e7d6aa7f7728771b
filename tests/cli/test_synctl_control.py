"""Tests for ``synctl start|stop|restart|status|register-user`` against a stub.

The stub stands in for ``python -m homeserver``: it serves
/_matrix/client/versions and Synapse's shared-secret registration API, so these
tests pin synctl's side of the contract without the real server (which
test_synctl_e2e.py covers).
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from homeserver.cli import main, process
from homeserver.cli.datadir import DataDir
from homeserver.cli.register import localpart_of, registration_mac
from tests.ports import free_port

STUB = r"""
import hashlib, hmac, json, os, secrets, signal, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

data_dir = Path(sys.argv[sys.argv.index("--data-dir") + 1])
config = yaml.safe_load((data_dir / "homeserver.yaml").read_text())
port = config["listeners"][0]["port"]
server_name = config["server"]["server_name"]
secret = config["registration"]["registration_shared_secret"].encode()
nonces, users = set(), set()
print("stub starting", flush=True)
if os.environ.get("STUB_MODE") == "hang":  # never answers, ignores SIGTERM
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(1)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_matrix/client/versions":
            return self.reply(200, {"versions": ["v1.11"]})
        if self.path == "/_synapse/admin/v1/register":
            nonce = secrets.token_hex(8)
            nonces.add(nonce)
            return self.reply(200, {"nonce": nonce})
        self.reply(404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("nonce") not in nonces:
            return self.reply(400, {"errcode": "M_UNKNOWN", "error": "Bad nonce"})
        nonces.discard(body["nonce"])
        message = "\x00".join([body["nonce"], body["username"], body["password"],
                               "admin" if body["admin"] else "notadmin"])
        mac = hmac.new(secret, message.encode(), hashlib.sha1).hexdigest()
        if not hmac.compare_digest(mac, body["mac"]):
            return self.reply(403, {"errcode": "M_FORBIDDEN",
                                    "error": "HMAC incorrect"})
        if body["username"] in users:
            return self.reply(400, {"errcode": "M_USER_IN_USE",
                                    "error": "User ID already taken."})
        users.add(body["username"])
        user_id = f"@{body['username']}:{server_name}"
        self.reply(200, {"user_id": user_id, "access_token": "t", "device_id": "D",
                         "home_server": server_name})


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


@attrs.frozen
class Result:
    code: int
    out: str
    err: str


Synctl = Callable[..., Result]


@pytest.fixture
def synctl(capsys: pytest.CaptureFixture[str]) -> Synctl:
    def run(*args: str) -> Result:
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def data_dir(
    synctl: Synctl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """An initialised data dir whose "server" is the stub; stopped afterwards."""
    stub = tmp_path / "fake_homeserver.py"
    stub.write_text(STUB)
    data = tmp_path / "data"

    def command(data_dir: DataDir) -> list[str]:
        return [sys.executable, str(stub), "--data-dir", str(data_dir.root)]

    monkeypatch.setattr(process, "server_command", command)
    port = str(free_port())
    result = synctl(
        "init",
        "--data-dir",
        str(data),
        "--server-name",
        "test.local",
        "--http-port",
        port,
    )
    assert result.code == 0, result.err
    try:
        yield data
    finally:
        main(["stop", "--data-dir", str(data), "--timeout", "2"])


def test_start_status_stop(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    assert synctl("status", "--data-dir", d).code == 3

    started = synctl("start", "--data-dir", d)
    assert started.code == 0, started.err
    pid = int((data_dir / "homeserver.pid").read_text())
    port = DataDir(data_dir).load_config().listeners[0].port
    assert f"Chatly is running at http://127.0.0.1:{port}/ (pid {pid})" in started.out
    assert "stub starting" in (data_dir / "homeserver.stderr.log").read_text()

    status = synctl("status", "--data-dir", d)
    assert status.code == 0
    assert f"(pid {pid})" in status.out
    assert "/_matrix/client/versions answers" in status.out

    again = synctl("start", "--data-dir", d)
    assert again.code == 0
    assert "already running" in again.out

    stopped = synctl("stop", "--data-dir", d)
    assert stopped.code == 0
    assert "Chatly stopped" in stopped.out
    assert not (data_dir / "homeserver.pid").exists()
    assert not process.is_alive(pid)
    assert synctl("status", "--data-dir", d).code == 3

    not_running = synctl("stop", "--data-dir", d)
    assert not_running.code == 0
    assert "not running" in not_running.out


def test_restart(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    assert synctl("restart", "--data-dir", d).code == 0  # from stopped
    first = int((data_dir / "homeserver.pid").read_text())
    result = synctl("restart", "--data-dir", d)
    assert result.code == 0, result.err
    second = int((data_dir / "homeserver.pid").read_text())
    assert second != first
    assert not process.is_alive(first)


def test_register_user(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    assert synctl("start", "--data-dir", d).code == 0
    result = synctl(
        "register-user", "--data-dir", d, "alice", "hunter2hunter2", "--admin"
    )
    assert result.code == 0, result.err
    assert result.out.startswith("Registered @alice:test.local")

    again = synctl("register-user", "--data-dir", d, "@alice:test.local", "x" * 12)
    assert again.code == 1
    assert "M_USER_IN_USE: User ID already taken." in again.err


def test_register_user_with_the_wrong_secret(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    assert synctl("start", "--data-dir", d).code == 0
    # The running stub keeps the old secret; synctl now signs with another one.
    synctl(
        "config", "set", "--data-dir", d, "registration.registration_shared_secret", "x"
    )
    result = synctl("register-user", "--data-dir", d, "bob", "password123")
    assert result.code == 1
    assert "M_FORBIDDEN: HMAC incorrect" in result.err


def test_register_user_password_from_stdin(
    synctl: Synctl, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = str(data_dir)
    assert synctl("start", "--data-dir", d).code == 0
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("from-stdin-pw\n"))
    result = synctl("register-user", "--data-dir", d, "carol", "-")
    assert result.code == 0, result.err


def test_register_user_when_not_running(synctl: Synctl, data_dir: Path) -> None:
    result = synctl("register-user", "--data-dir", str(data_dir), "alice", "pw12345678")
    assert result.code == 1
    assert "is it running?" in result.err
    assert "synctl start" in result.err
    assert "Traceback" not in result.err


def test_register_user_without_a_secret(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    synctl(
        "config", "unset", "--data-dir", d, "registration.registration_shared_secret"
    )
    result = synctl("register-user", "--data-dir", d, "alice", "pw12345678")
    assert result.code == 1
    assert "registration.registration_shared_secret is not set" in result.err


def test_start_with_an_invalid_config(synctl: Synctl, data_dir: Path) -> None:
    config = data_dir / "homeserver.yaml"
    config.write_text(config.read_text() + "frobnicate: {}\nloging: {}\n")
    result = synctl("start", "--data-dir", str(data_dir))
    assert result.code == 1
    assert "frobnicate: unknown key" in result.err
    assert "loging: unknown key; did you mean 'logging'?" in result.err
    assert "Traceback" not in result.err
    assert not (data_dir / "homeserver.pid").exists()


def test_start_initialises_a_missing_data_dir(
    synctl: Synctl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process that exits at once: enough to see init ran, without port 8008.
    monkeypatch.setattr(
        process,
        "server_command",
        lambda _: [sys.executable, "-c", "raise SystemExit(3)"],
    )
    data = tmp_path / "fresh"
    result = synctl("start", "--data-dir", str(data))
    assert "creating one with defaults (server name localhost, port 8008)" in result.out
    config = DataDir(data).load_config()
    assert config.server.server_name == "localhost"
    assert config.listeners[0].port == 8008
    assert (data / "signing.key").exists()


def test_start_reports_a_crash_with_the_log_tail(
    synctl: Synctl, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash = (
        "import sys; print('cannot bind: address in use', file=sys.stderr); sys.exit(4)"
    )
    monkeypatch.setattr(
        process, "server_command", lambda _: [sys.executable, "-c", crash]
    )
    (data_dir / "homeserver.stderr.log").write_text("an old line\n")
    result = synctl("start", "--data-dir", str(data_dir))
    assert result.code == 1
    assert "exited with status 4 before answering" in result.err
    assert "cannot bind: address in use" in result.err
    assert "an old line" not in result.err  # only what this start wrote
    assert not (data_dir / "homeserver.pid").exists()


def test_start_timeout_then_stop_kills(
    synctl: Synctl, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_MODE", "hang")
    d = str(data_dir)
    result = synctl("start", "--data-dir", d, "--timeout", "1")
    assert result.code == 1
    assert "did not answer within 1s" in result.err
    assert "still running" in result.err
    assert "stub starting" in result.err

    status = synctl("status", "--data-dir", d)
    assert status.code == 0
    assert "does NOT answer" in status.out

    stopped = synctl("stop", "--data-dir", d, "--timeout", "0.5")
    assert stopped.code == 0
    assert "killed it" in stopped.out
    assert synctl("status", "--data-dir", d).code == 3


def test_start_refuses_when_the_port_is_taken(synctl: Synctl, data_dir: Path) -> None:
    class Versions(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    port = DataDir(data_dir).load_config().listeners[0].port
    other = http.server.ThreadingHTTPServer(("127.0.0.1", port), Versions)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        result = synctl("start", "--data-dir", str(data_dir))
    finally:
        other.shutdown()
        other.server_close()
    assert result.code == 1
    assert "something else already answers" in result.err
    assert not (data_dir / "homeserver.pid").exists()


def test_stale_pid_file(synctl: Synctl, data_dir: Path) -> None:
    (data_dir / "homeserver.pid").write_text("999999999\n")  # above pid_max
    status = synctl("status", "--data-dir", str(data_dir))
    assert status.code == 3
    assert "stale" in status.out
    stopped = synctl("stop", "--data-dir", str(data_dir))
    assert stopped.code == 0
    assert "stale" in stopped.out
    assert not (data_dir / "homeserver.pid").exists()


def test_registration_mac_matches_synapse() -> None:
    expected = hmac.new(
        b"s3cret", b"abc\x00alice\x00pw\x00admin", hashlib.sha1
    ).hexdigest()
    assert registration_mac("s3cret", "abc", "alice", "pw", True) == expected
    assert registration_mac("s3cret", "abc", "alice", "pw", False) != expected


def test_localpart_of() -> None:
    assert localpart_of("alice") == "alice"
    assert localpart_of("@alice:example.com") == "alice"


def test_a_reused_pid_is_not_killed(synctl: Synctl, data_dir: Path) -> None:
    """A pid file naming some other live process (pid reuse) is stale."""
    other = subprocess.Popen(["sleep", "30"])
    try:
        (data_dir / "homeserver.pid").write_text(f"{other.pid}\n")
        assert synctl("status", "--data-dir", str(data_dir)).code == 3
        assert synctl("stop", "--data-dir", str(data_dir)).code == 0
        assert other.poll() is None  # still alive
    finally:
        other.kill()
        other.wait()
