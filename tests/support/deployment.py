"""A real worker deployment for end-to-end tests, set up as an admin would.

``synctl init``, then the ``workers`` section (two client readers, an event
persister and a federation sender by default) on a PostgreSQL database of its
own and the machine's Redis under a key prefix of its own, ``synctl start``
(main, then the workers), ``synctl workers generate --nginx`` and Debian's
nginx in front on a free port. ``stop()`` stops everything, drops the database
and deletes the Redis keys.

PostgreSQL (HS_TEST_POSTGRES), Redis (HS_TEST_REDIS, default the machine's)
and nginx (installed with apt-get on first use) are required: under CI=true a
missing one fails the test, otherwise it is skipped. Start one deployment per
test module (``running_deployment``): it takes seconds, and CI has minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from homeserver.config.replication_secret import read_replication_secret
from homeserver.config.tls import generate_self_signed
from tests.conftest import POSTGRES_DSN, postgres_databases
from tests.e2e.conftest import synctl
from tests.interop.client import Client, register, request
from tests.ports import free_port
from tests.support.installs import installed_or_skip
from tests.support.nginx import Nginx, ensure_nginx
from tests.support.redis_keys import REDIS_URL, delete_prefixed, unique_prefix

DEFAULT_INSTANCES: tuple[tuple[str, str], ...] = (
    ("reader1", "client_reader"),
    ("reader2", "client_reader"),
    ("persister1", "event_persister"),
    ("fedsender1", "federation_sender"),
)
START_TIMEOUT = "90"


def _require(what: str, ok: bool, why: str) -> None:
    if ok:
        return
    message = f"the worker deployment needs {what}: {why}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _check_redis(url: str) -> None:
    try:
        client = redis.Redis.from_url(url)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        _require("Redis", False, f"{url}: {exc}")


class Deployment:
    """Main, the workers and nginx, all real processes.

    Attributes:
        data_dir: the one data directory every process shares.
        proxy_url: nginx, in front of everything (what clients use).
        server_name: the deployment's server name.
        instances: (name, role) of every worker.
    """

    def __init__(
        self,
        base: Path,
        *,
        dsn: str,
        redis_url: str,
        redis_prefix: str,
        instances: Sequence[tuple[str, str]] = DEFAULT_INSTANCES,
        federation: bool = False,
        rate_limiting: dict[str, Any] | None = None,
    ) -> None:
        self.base = base
        self.data_dir = base / "data"
        self.instances = tuple(instances)
        self.redis_url = redis_url
        self.redis_prefix = redis_prefix
        self.main_port = free_port()
        self.ports = {name: free_port() for name, _ in self.instances}
        self.proxy_port = free_port()
        self.proxy_url = f"http://127.0.0.1:{self.proxy_port}"
        # Federation reaches the deployment through nginx, over TLS.
        self.fed_port = free_port() if federation else None
        self.server_name = (
            f"127.0.0.1:{self.fed_port}" if self.fed_port else "workers.test"
        )
        self._dsn = dsn
        self._rate_limiting = rate_limiting or {"enabled": False}
        self._nginx: Nginx | None = None
        self.shared_secret = ""

    # -- set-up ------------------------------------------------------------

    def _configure(self) -> None:
        d = str(self.data_dir)
        synctl(
            "init",
            "--data-dir",
            d,
            "--server-name",
            self.server_name,
            "--http-port",
            str(self.main_port),
            "--open-registration",
            "--insecure-federation-for-testing",
        )
        config_path = self.data_dir / "homeserver.yaml"
        config = yaml.safe_load(config_path.read_text())
        config["database"] = {"engine": "postgres", "dsn": self._dsn}
        config["rate_limiting"] = self._rate_limiting
        config["metrics"] = {"enabled": True}  # lag and federation counters
        # Cheap password hashing: tests and benches register many users.
        config.setdefault("auth", {})["password_hashing"] = {
            "argon2_time_cost": 1,
            "argon2_memory_cost_kib": 1024,
        }
        config.setdefault("federation", {})["max_retry_interval"] = "5s"
        config["workers"] = {
            "redis_url": self.redis_url,
            "redis_prefix": self.redis_prefix,
            "instances": [
                {"name": name, "role": role, "port": self.ports[name]}
                for name, role in self.instances
            ],
        }
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.shared_secret = str(config["registration"]["registration_shared_secret"])

    def _generate_proxy(self) -> Path:
        out = self.base / "nginx.conf"
        args = [
            "workers",
            "generate",
            "--data-dir",
            str(self.data_dir),
            "--nginx",
            "--listen",
            f"127.0.0.1:{self.proxy_port}",
            "--runtime-dir",
            str(self.base / "nginx"),
            "--out",
            str(out),
        ]
        if self.fed_port is not None:
            cert, key = self.base / "proxy.crt", self.base / "proxy.key"
            generate_self_signed(cert, key, "127.0.0.1")
            args += [
                "--listen",
                f"127.0.0.1:{self.fed_port} ssl",
                "--tls-certificate",
                str(cert),
                "--tls-key",
                str(key),
            ]
        synctl(*args)
        return out

    def start(self) -> None:
        """Configure, ``synctl start`` every process, then start nginx."""
        self._configure()
        synctl("start", "--data-dir", str(self.data_dir), "--timeout", START_TIMEOUT)
        config = self._generate_proxy()
        self._nginx = Nginx(config, self.base / "nginx", self.proxy_port)
        self._nginx.start()

    def stop(self) -> None:
        """Stop nginx and every process (the database and keys stay)."""
        if self._nginx is not None:
            self._nginx.stop()
            self._nginx = None
        synctl("stop", "--data-dir", str(self.data_dir), check=False)
        for name in ("main", *self.ports):
            pid = self.pid(name)
            if pid is not None:  # stop failed: never leak a process
                os.kill(pid, signal.SIGKILL)

    # -- processes ---------------------------------------------------------

    def url(self, name: str) -> str:
        """The base URL of process ``name`` itself (no proxy)."""
        port = self.main_port if name == "main" else self.ports[name]
        return f"http://127.0.0.1:{port}"

    def pid(self, name: str) -> int | None:
        """The pid of process ``name`` if it runs."""
        path = (
            self.data_dir / "homeserver.pid"
            if name == "main"
            else self.data_dir / "workers" / f"{name}.pid"
        )
        try:
            pid = int(path.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def kill(self, name: str) -> None:
        """``kill -9`` process ``name`` and wait until it is gone."""
        pid = self.pid(name)
        assert pid is not None, f"{name} is not running"
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                return
            time.sleep(0.05)

    def start_worker(self, name: str) -> None:
        """``synctl start --worker NAME`` (waits until it answers)."""
        self._synctl_worker("start", name)

    def restart_worker(self, name: str) -> None:
        """``synctl restart --worker NAME`` (SIGTERM, then start)."""
        self._synctl_worker("restart", name)

    def _synctl_worker(self, command: str, name: str) -> None:
        data = str(self.data_dir)
        synctl(
            command, "--data-dir", data, "--worker", name, "--timeout", START_TIMEOUT
        )

    def synctl_status(self) -> subprocess.CompletedProcess[str]:
        """``synctl status`` (exit 0 when every process runs)."""
        return synctl("status", "--data-dir", str(self.data_dir), check=False)

    def replication_status(self, name: str) -> dict[str, Any]:
        """``GET /_chatly/replication/status`` of process ``name``."""
        secret = read_replication_secret(self.data_dir / "replication.secret")
        return request(
            "GET", self.url(name) + "/_chatly/replication/status", token=secret
        )

    def register(self, localpart: str, via: str | None = None) -> Client:
        """A new user (shared-secret registration on main); its client talks to
        process ``via`` directly, or to nginx when None."""
        client = register(self.url("main"), self.shared_secret, localpart)
        base = self.proxy_url if via is None else self.url(via)
        return Client(base, client.user_id, client.token, client.device_id)

    def log_of(self, name: str) -> str:
        """Process ``name``'s own log so far."""
        suffix = "" if name == "main" else f"-{name}"
        return (self.data_dir / f"homeserver{suffix}.log").read_text(errors="replace")

    def logs(self, lines: int = 60) -> str:
        """The end of every process's output, for failure messages."""
        paths = [
            self.data_dir / "homeserver.log",
            self.data_dir / "homeserver.stderr.log",
        ]
        paths += sorted((self.data_dir / "workers").glob("*.stderr.log"))
        parts = []
        for path in paths:
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(text))
        return "\n".join(parts)


def request_text(url: str) -> str:
    """GET ``url``; the body as text."""
    with urllib.request.urlopen(url, timeout=30) as answer:
        return str(answer.read().decode())


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@contextmanager
def running_deployment(
    request_: pytest.FixtureRequest,
    base: Path,
    *,
    redis_url: str | None = None,
    instances: Sequence[tuple[str, str]] = DEFAULT_INSTANCES,
    federation: bool = False,
    rate_limiting: dict[str, Any] | None = None,
) -> Iterator[Deployment]:
    """A started ``Deployment`` on a fresh PostgreSQL database (dropped after)
    and a fresh Redis key prefix (deleted after).

    Args:
        request_: the fixture request (for the run's PostgreSQL databases).
        base: a directory of the deployment's own.
        redis_url: the Redis to use; default the machine's (HS_TEST_REDIS).
        instances: (name, role) of the workers.
        federation: also serve federation through nginx over TLS, with the
            server name ``127.0.0.1:<port>``.
        rate_limiting: the ``rate_limiting`` section (default: off).
    """
    _require("PostgreSQL", bool(POSTGRES_DSN), "HS_TEST_POSTGRES is not set")
    url = redis_url or REDIS_URL
    _check_redis(url)
    installed_or_skip("nginx", ensure_nginx)
    databases = postgres_databases(request_.config)
    database = databases.create("hs_workers")
    prefix = unique_prefix()
    deployment = Deployment(
        base,
        dsn=f"{POSTGRES_DSN} dbname={database}",
        redis_url=url,
        redis_prefix=prefix,
        instances=instances,
        federation=federation,
        rate_limiting=rate_limiting,
    )
    try:
        deployment.start()
        yield deployment
    except BaseException:
        print(deployment.logs())
        raise
    finally:
        deployment.stop()
        databases.drop(database)
        client = redis.Redis.from_url(url)
        try:
            delete_prefixed(client, prefix)
        except redis.RedisError:
            pass  # a private Redis the test already stopped
        finally:
            client.close()
