"""Start a bridge as its own process, as an operator would: write its config,
``--generate-registration``, then run it until the test ends."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import yaml

from tests.bridges.conftest import bridge_pythonpath
from tests.ports import free_port

START_TIMEOUT = 60.0


@attrs.frozen
class BridgeProcess:
    directory: Path
    port: int
    registration_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def registration(self) -> dict[str, Any]:
        return dict(yaml.safe_load(self.registration_path.read_text()))

    @property
    def log(self) -> str:
        return (self.directory / "bridge.log").read_text()


def bridge_command(module: str, config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", module, "-c", str(config), *args]


def run_cli(module: str, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a bridge's command line once (e.g. ``--generate-registration``)."""
    env = {**os.environ, "PYTHONPATH": bridge_pythonpath()}
    return subprocess.run(
        bridge_command(module, config, *args),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def write_bridge_config(directory: Path, settings: dict[str, Any]) -> tuple[Path, int]:
    """Write config.yaml with a free AS port; returns (path, port)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    settings.setdefault("appservice", {}).update(
        {"port": port, "registration": "registration.yaml", "database": "bridge.db"}
    )
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path, port


def prepare_bridge(
    module: str, directory: Path, settings: dict[str, Any]
) -> tuple[Path, int]:
    """Write the config and ``--generate-registration``; (config path, AS port)."""
    config, port = write_bridge_config(directory, settings)
    result = run_cli(module, config, "--generate-registration")
    assert result.returncode == 0, result.stderr
    return config, port


def update_bridge_config(config: Path, **sections: Any) -> None:
    """Set top-level sections of a written config (e.g. ``mappings``)."""
    data = yaml.safe_load(config.read_text())
    data.update(sections)
    config.write_text(yaml.safe_dump(data))


@contextmanager
def running_bridge(
    module: str, directory: Path, settings: dict[str, Any]
) -> Iterator[BridgeProcess]:
    """``prepare_bridge``, then ``run_bridge``."""
    config, port = prepare_bridge(module, directory, settings)
    with run_bridge(module, config, port) as bridge:
        yield bridge


@contextmanager
def run_bridge(module: str, config: Path, port: int) -> Iterator[BridgeProcess]:
    """Start the bridge, wait for its AS port, and stop it at the end."""
    directory = config.parent
    env = {**os.environ, "PYTHONPATH": bridge_pythonpath()}
    with open(directory / "bridge.log", "ab") as log:
        process = subprocess.Popen(
            bridge_command(module, config),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    bridge = BridgeProcess(directory, port, directory / "registration.yaml")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"bridge exited at start:\n{bridge.log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"bridge never listened:\n{bridge.log}"
                    ) from None
                time.sleep(0.1)
        yield bridge
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
