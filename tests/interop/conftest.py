"""Fixtures of the interop tier: one real Synapse and one Chatly, federating over
TLS on loopback for the whole session, and fresh users on either side per test.
A second Chatly (``peer_chatly``) joins for the tests that ask for it.
Our server uses SQLite, or PostgreSQL when HS_TEST_POSTGRES is set (as in CI).

Synapse is installed from PyPI into a cached virtualenv on first use. Without CI
set, a machine that cannot install it skips these tests; with CI set, that is a
failure, so CI never silently loses the interop proof.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from tests.conftest import POSTGRES_DSN, postgres_databases
from tests.interop.chatly import Chatly
from tests.interop.client import Client, register
from tests.interop.synapse import LOG_FILES, Synapse, ensure_synapse
from tests.ports import free_port
from tests.support.installs import installed_or_skip

LOG_LINES_ON_FAILURE = 200
INTEROP_TEST_TIMEOUT = 900
_LOG_START = pytest.StashKey[dict[Path, int]]()
_TEST_START = pytest.StashKey[float]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is in the slow, real-process tiers."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.interop)
            # The first one may include installing Synapse (about a minute).
            item.add_marker(pytest.mark.timeout(INTEROP_TEST_TIMEOUT))
            # Under xdist (--dist loadgroup) one worker runs them all, so the
            # package's Synapse and Chatly start once, not once per worker.
            item.add_marker(pytest.mark.xdist_group("interop"))


@attrs.frozen
class Servers:
    """The two federating servers."""

    synapse: Synapse
    chatly: Chatly


@pytest.fixture(scope="session")
def synapse_python() -> Path:
    """Synapse's virtualenv python; installs it on first use."""
    return installed_or_skip("Synapse for the interop tests", ensure_synapse)


@pytest.fixture(scope="package")
def servers(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    synapse_python: Path,
) -> Iterator[Servers]:
    """Synapse and Chatly, started once for this package's tests and stopped
    after its last one (the rest of the suite does not need them running)."""
    base = tmp_path_factory.mktemp("interop")
    synapse = Synapse(synapse_python, base / "synapse", free_port(), free_port())
    # A fresh PostgreSQL database for our server when HS_TEST_POSTGRES is set
    # (as in CI); synctl start migrates it.
    databases = postgres_databases(request.config) if POSTGRES_DSN else None
    database = databases.create("hs_interop", empty=True) if databases else None
    try:
        dsn = f"{POSTGRES_DSN} dbname={database}" if database else None
        chatly = Chatly(base / "chatly", free_port(), free_port(), dsn)
        try:
            synapse.start()
            chatly.start()
            yield Servers(synapse, chatly)
        finally:
            chatly.stop()
            synapse.stop()
    finally:
        if databases and database:
            databases.drop(database)


@pytest.fixture(scope="package")
def peer_chatly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chatly]:
    """A second Chatly (SQLite) for Chatly-to-Chatly federation: started by the
    first test that asks for it, stopped after the package's last test."""
    peer = Chatly(tmp_path_factory.mktemp("peer") / "chatly", free_port(), free_port())
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def synapse(servers: Servers) -> Synapse:
    """The running Synapse."""
    return servers.synapse


@pytest.fixture
def chatly(servers: Servers) -> Chatly:
    """Our running server (restarted if a previous test left it stopped)."""
    if not servers.chatly.running:
        servers.chatly.start()
    return servers.chatly


_counter = itertools.count()


def _localpart(name: str) -> str:
    return f"{name}{next(_counter)}{secrets.token_hex(2)}"


@pytest.fixture
def synapse_user(synapse: Synapse) -> Callable[[str], Client]:
    """Make a new user on Synapse: ``synapse_user("bob")``."""
    return lambda name: register(
        synapse.client_url, synapse.shared_secret, _localpart(name)
    )


@pytest.fixture
def chatly_user(chatly: Chatly) -> Callable[[str], Client]:
    """Make a new user on our server: ``chatly_user("alice")``."""
    return lambda name: register(
        chatly.client_url, chatly.shared_secret, _localpart(name)
    )


@pytest.fixture
def peer_user(peer_chatly: Chatly) -> Callable[[str], Client]:
    """Make a new user on the second Chatly: ``peer_user("carol")``."""
    return lambda name: register(
        peer_chatly.client_url, peer_chatly.shared_secret, _localpart(name)
    )


@pytest.fixture
def alice(chatly_user: Callable[[str], Client]) -> Client:
    """A fresh user on our server."""
    return chatly_user("alice")


@pytest.fixture
def bob(synapse_user: Callable[[str], Client]) -> Client:
    """A fresh user on Synapse."""
    return synapse_user("bob")


@pytest.fixture(autouse=True)
def _remember_log_offsets(request: pytest.FixtureRequest, servers: Servers) -> None:
    """Note how long each log is, so a failure shows what this test logged."""
    offsets = {}
    for path in LOG_FILES:
        offsets[path] = path.stat().st_size if path.exists() else 0
    request.node.stash[_LOG_START] = offsets
    request.node.stash[_TEST_START] = time.time()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    """On failure, attach both servers' log lines from during the test."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    offsets = item.stash.get(_LOG_START, None)
    if not report.failed or offsets is None:
        return
    started = item.stash.get(_TEST_START, 0.0)
    for path in sorted(LOG_FILES):
        # Servers started by this test (not in offsets) are shown from the
        # start; servers that wrote nothing during the test are left out.
        if path not in offsets and _mtime(path) < started:
            continue
        name = f"{path.parent.name}/{path.name}"
        report.sections.append((name, _since(path, offsets.get(path, 0))))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _since(path: Path, start: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return "(missing)"
    skipped = max(0, len(lines) - LOG_LINES_ON_FAILURE)
    shown = lines[skipped:]
    prefix = [f"({skipped} earlier lines not shown)"] if skipped else []
    return "\n".join(prefix + shown)
