"""A real Chatly process (``synctl``) with bridge registrations in its config,
for the bridges' end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.conftest import synctl
from tests.interop.chatly import Chatly
from tests.ports import free_port


def new_chatly(data: Path) -> Chatly:
    """``synctl init`` (not started): its ``server_name`` and ``client_url``
    are known, for the bridge's config and registration."""
    return Chatly(data, free_port(), free_port())


@contextmanager
def started(server: Chatly, registrations: list[Path]) -> Iterator[Chatly]:
    """The registrations in ``appservice.config_files``, ``synctl start``;
    stopped at the end (its logs printed on a failure)."""
    listed = ", ".join(str(path) for path in registrations)
    synctl(
        "config",
        "set",
        "--data-dir",
        str(server.data),
        "appservice.config_files",
        f"[{listed}]",
    )
    server.start()
    try:
        yield server
    except BaseException:
        print(server.logs(200))
        raise
    finally:
        server.stop()
