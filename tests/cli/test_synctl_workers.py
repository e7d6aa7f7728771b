"""``synctl start|stop|restart|status`` and ``workers generate`` with workers.

A stub stands in for ``python -m homeserver [--worker NAME]``: it listens on
main's listener or on the worker's port, serves /_matrix/client/versions and
``/_chatly/replication/status`` (only with the replication secret as bearer
token), and appends its name to a start log, so the start order, pid files,
logs and the status table are synctl's own behaviour under test. The real
processes are driven through synctl by tests/support/deployment.py.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from homeserver.cli import main, process
from homeserver.cli.datadir import DataDir
from tests.cli import test_synctl_control
from tests.cli.test_synctl_control import Synctl
from tests.ports import free_port
from tests.support.installs import installed_or_skip
from tests.support.nginx import check_config, ensure_nginx

STUB = r"""
import json, signal, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

data_dir = Path(sys.argv[sys.argv.index("--data-dir") + 1])
name = sys.argv[sys.argv.index("--worker") + 1] if "--worker" in sys.argv else "main"
config = yaml.safe_load((data_dir / "homeserver.yaml").read_text())
workers = config["workers"]
if name == "main":
    role, port = "main", config["listeners"][0]["port"]
else:
    instance = next(i for i in workers["instances"] if i["name"] == name)
    role, port = instance["role"], instance["port"]
secret_file = workers.get("replication_secret_path", "replication.secret")
secret = (data_dir / secret_file).read_text().strip()
with open(data_dir / "start-order.log", "a") as log:
    log.write(name + "\n")
print(f"stub {name} starting", flush=True)
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
        if self.path == "/_chatly/replication/status":
            if self.headers.get("Authorization") != f"Bearer {secret}":
                return self.reply(403, {"errcode": "M_FORBIDDEN", "error": "no"})
            return self.reply(200, {
                "name": name, "role": role, "pid": 0, "redis": "connected",
                "positions": {"events": 42, "typing": 7},
                "lag": {"events": {"entries": 3, "seconds": 0.25}},
            })
        self.reply(404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized"})


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

synctl = test_synctl_control.synctl  # the fixture: synctl in this process

INSTANCES = [
    ("reader1", "client_reader"),
    ("persister1", "event_persister"),
    ("reader2", "client_reader"),
]


@pytest.fixture
def data_dir(
    synctl: Synctl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A data dir with three workers whose processes are the stub."""
    stub = tmp_path / "fake_homeserver.py"
    stub.write_text(STUB)
    data = tmp_path / "data"

    def command(data_dir: DataDir, worker: str | None = None) -> list[str]:
        extra = ["--worker", worker] if worker else []
        return [sys.executable, str(stub), "--data-dir", str(data_dir.root), *extra]

    monkeypatch.setattr(process, "server_command", command)
    init = synctl(
        "init",
        "--data-dir",
        str(data),
        "--server-name",
        "test.local",
        "--http-port",
        str(free_port()),
    )
    assert init.code == 0, init.err
    config = yaml.safe_load((data / "homeserver.yaml").read_text())
    config["workers"] = {
        "redis_url": "redis://127.0.0.1:6379/0",
        "instances": [
            {"name": name, "role": role, "port": free_port()}
            for name, role in INSTANCES
        ],
        "stream_writers": {"typing": "reader2"},
    }
    (data / "homeserver.yaml").write_text(yaml.safe_dump(config))
    try:
        yield data
    finally:
        main(["stop", "--data-dir", str(data), "--timeout", "2"])


def _pid(data_dir: Path, name: str) -> int:
    return int((data_dir / "workers" / f"{name}.pid").read_text())


def test_start_status_stop_with_workers(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    started = synctl("start", "--data-dir", d)
    assert started.code == 0, started.err + started.out
    # Main first, then the event persister, then the rest (side by side).
    order = (data_dir / "start-order.log").read_text().split()
    assert order[:2] == ["main", "persister1"]
    assert sorted(order[2:]) == ["reader1", "reader2"]
    secret = data_dir / "replication.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert "Generated the replication secret" in started.out
    for name, role in INSTANCES:
        assert f"starting {name} ({role}) (pid {_pid(data_dir, name)})" in started.out
        assert f"{name} ({role}) answers at" in started.out
        log = data_dir / "workers" / f"{name}.stderr.log"
        assert f"stub {name} starting" in log.read_text()

    status = synctl("status", "--data-dir", d)
    assert status.code == 0, status.out
    for name, role in INSTANCES:
        assert f"{name:<16} {role:<18} pid {_pid(data_dir, name)}" in status.out
    assert "redis connected" in status.out
    assert "events" in status.out and "42" in status.out
    assert "lag 3 entries, 0.25s" in status.out

    again = synctl("start", "--data-dir", d)
    assert again.code == 0 and "reader1 (client_reader) is already running" in again.out

    pids = {name: _pid(data_dir, name) for name, _ in INSTANCES}
    stopped = synctl("stop", "--data-dir", d)
    assert stopped.code == 0
    assert "Chatly stopped" in stopped.out
    assert all(not process.is_alive(pid) for pid in pids.values())
    assert list((data_dir / "workers").glob("*.pid")) == []
    down = synctl("status", "--data-dir", d)
    assert down.code == 3


def test_one_worker_stops_and_starts_alone(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    assert synctl("start", "--data-dir", d).code == 0
    main_pid = int((data_dir / "homeserver.pid").read_text())
    reader2 = _pid(data_dir, "reader2")

    stopped = synctl("stop", "--data-dir", d, "--worker", "reader1")
    assert stopped.code == 0 and "Stopping reader1 (pid" in stopped.out
    assert process.is_alive(main_pid) and process.is_alive(reader2)
    status = synctl("status", "--data-dir", d)
    assert status.code == 3
    assert f"{'reader1':<16} {'client_reader':<18} stopped" in status.out

    restarted = synctl("start", "--data-dir", d, "--worker", "reader1")
    assert restarted.code == 0, restarted.err
    assert synctl("status", "--data-dir", d).code == 0
    assert _pid(data_dir, "reader2") == reader2  # the others were left alone

    unknown = synctl("start", "--data-dir", d, "--worker", "nobody")
    assert unknown.code == 1 and "no worker named 'nobody'" in unknown.err


def test_status_without_the_secret_says_so(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    assert synctl("start", "--data-dir", d).code == 0
    (data_dir / "replication.secret").write_text("x" * 40 + "\n")
    status = synctl("status", "--data-dir", d)
    assert "status unavailable (M_FORBIDDEN: no)" in status.out


def test_workers_generate(synctl: Synctl, data_dir: Path, tmp_path: Path) -> None:
    d = str(data_dir)
    out = tmp_path / "chatly-nginx.conf"
    port = str(free_port())
    nginx = synctl(
        "workers",
        "generate",
        "--data-dir",
        d,
        "--nginx",
        "--listen",
        port,
        "--out",
        str(out),
    )
    assert nginx.code == 0, nginx.err
    text = out.read_text()
    reader_ports = [
        i["port"]
        for i in yaml.safe_load((data_dir / "homeserver.yaml").read_text())["workers"][
            "instances"
        ]
        if i["role"] == "client_reader"
    ]
    for reader_port in reader_ports:
        assert f"server 127.0.0.1:{reader_port};" in text
    assert "upstream chatly_writer_reader2" in text  # stream_writers.typing
    assert f"listen {port};" in text
    installed_or_skip("nginx", ensure_nginx)
    check_config(out, tmp_path / "nginx-run")

    haproxy = synctl("workers", "generate", "--data-dir", d, "--haproxy")
    assert haproxy.code == 0
    assert "frontend chatly" in haproxy.out and "bind :8080" in haproxy.out

    both = synctl("workers", "generate", "--data-dir", d, "--nginx", "--haproxy")
    assert both.code == 2
