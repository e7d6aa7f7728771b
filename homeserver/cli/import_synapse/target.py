"""The Chatly database an import writes to, and the record of its progress.

The server is stopped during an import; synctl opens the database itself
(inline, no reactor running) and builds the same event persister the server
uses, so imported events get every index a live event gets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from homeserver.cli.datadir import DataDir
from homeserver.cli.inline import wait
from homeserver.config import HomeserverConfig
from homeserver.config.keyfile import read_signing_key
from homeserver.storage.database import Database, Transaction, inline_runner
from homeserver.storage.engines import engine_for

if TYPE_CHECKING:
    # Imported where a Target is opened: the composition package loads the whole
    # server, which every other synctl command (config set, stop, ...) would pay.
    from homeserver.composition.core import Core

T = TypeVar("T")


@attrs.frozen
class StepState:
    """How far one step got."""

    rows_done: int
    position: str | None
    done: bool


class Target:
    """The data directory being imported into.

    Args:
        data_dir: the Chatly data directory (config, signing key, database).
        config: its loaded config.
        core: the database, streams and event persister.
    """

    def __init__(self, data_dir: DataDir, config: HomeserverConfig, core: Core) -> None:
        self.data_dir = data_dir
        self.config = config
        self.core = core

    @classmethod
    def open(cls, data_dir: DataDir) -> Target:
        """Open the data directory's database, with its schema up to date."""
        from twisted.internet import reactor

        from homeserver.composition.core import Core

        config = data_dir.load_config()
        db = Database(engine_for(config.database, data_dir.root), inline_runner)
        key_path = data_dir.root / config.server.signing_key_path
        key = read_signing_key(key_path) if key_path.exists() else None
        core = Core.build(
            config=config,
            reactor=reactor,
            db=db,
            blocking_runner=inline_runner,
            signing_key=key,
        )
        wait(core.setup())
        return cls(data_dir, config, core)

    @property
    def db(self) -> Database:
        """The Chatly database."""
        return self.core.db

    @property
    def server_name(self) -> str:
        """The configured server name."""
        return self.config.server.server_name

    @property
    def signing_key_path(self) -> Path:
        """Where the server reads its signing key."""
        return self.data_dir.root / self.config.server.signing_key_path

    @property
    def media_store(self) -> Path:
        """The local media store directory."""
        return self.data_dir.root / self.config.media.media_store_path

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(txn, *args)`` in one transaction."""
        return wait(self.db.run_interaction(name, fn, *args))

    def state(self, step: str) -> StepState:
        """The recorded progress of ``step``."""
        row = self.run(
            "import_step_state",
            lambda txn: txn.query_one(
                "SELECT rows_done, position, done_ts FROM synapse_import_steps"
                " WHERE step = ?",
                (step,),
            ),
        )
        if row is None:
            return StepState(0, None, False)
        return StepState(int(row.rows_done), row.position, row.done_ts is not None)

    def record_txn(
        self,
        txn: Transaction,
        step: str,
        rows_done: int,
        position: str | None,
        done: bool = False,
    ) -> None:
        """Record ``step``'s progress, in the transaction that made it."""
        txn.execute(
            "INSERT INTO synapse_import_steps (step, rows_done, position, done_ts)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (step) DO UPDATE SET"
            " rows_done = excluded.rows_done, position = excluded.position,"
            " done_ts = excluded.done_ts",
            (step, rows_done, position, int(time.time() * 1000) if done else None),
        )

    def finish(self, step: str, rows_done: int) -> None:
        """Mark ``step`` as done."""
        self.run("import_step_done", self.record_txn, step, rows_done, None, True)
