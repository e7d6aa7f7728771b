"""The pipeline's building blocks: a step, and a table copy.

A step reads one kind of data from Synapse and writes it to Chatly. Every
write is an insert that leaves rows already there alone, and a step is
recorded as done (``synapse_import_steps``) when it finishes: running the
import again skips finished steps and redoes an interrupted one harmlessly.
Long steps also record how far they got, and resume after that.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from homeserver.cli.import_synapse.source import SynapseDatabase
from homeserver.cli.import_synapse.target import Target
from homeserver.storage.database import Transaction

BATCH = 500

Row = dict[str, Any]


class Progress:
    """Progress lines on a stream (stderr by default): one per batch."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr

    def step(self, name: str, done: int, total: int | None) -> None:
        """How far ``name`` is."""
        if total:
            pct = 100 * done // max(total, 1)
            print(f"  {name}: {done}/{total} ({pct}%)", file=self.out, flush=True)
        else:
            print(f"  {name}: {done}", file=self.out, flush=True)


@attrs.frozen
class Context:
    """What every step gets: the source, the target and progress output."""

    source: SynapseDatabase
    target: Target
    progress: Progress
    source_server: str
    media_store: Path | None = None
    event_limit: int | None = None


class Paused(Exception):
    """A step stopped early on purpose (``--limit``): its progress is
    recorded, and the next run goes on from there."""


@attrs.frozen
class Step:
    """One step of the pipeline.

    Args:
        name: its name in the progress table and in messages.
        run: does the work; returns how many source rows it imported.
    """

    name: str
    run: Callable[[Context], int]


def batches(rows: Iterable[Row], size: int = BATCH) -> Iterator[list[Row]]:
    """``rows`` in lists of at most ``size``."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_ignore_txn(
    txn: Transaction,
    table: str,
    columns: Sequence[str],
    values: Iterable[Sequence[Any]],
    conflict: Sequence[str],
) -> None:
    """Insert rows, leaving any whose key ``conflict`` is already there."""
    cols = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    txn.execute_many(
        f"INSERT INTO {table} ({cols}) VALUES ({marks})"
        f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING",
        values,
    )


def copy_rows(
    ctx: Context,
    step: str,
    rows: Iterable[Row],
    write_txn: Callable[[Transaction, list[Row]], None],
    total: int | None = None,
) -> int:
    """Write ``rows`` in batches, one transaction each; how many there were."""
    done = 0
    for batch in batches(rows):
        done += len(batch)

        def txn_fn(txn: Transaction, batch: list[Row] = batch, n: int = done) -> None:
            write_txn(txn, batch)
            ctx.target.record_txn(txn, step, n, None)

        ctx.target.run(f"import_{step}", txn_fn)
        ctx.progress.step(step, done, total)
    return done


def local_user_id(ctx: Context, localpart_or_id: str) -> str:
    """A full user ID from Synapse's older localpart-only columns."""
    if localpart_or_id.startswith("@"):
        return localpart_or_id
    return f"@{localpart_or_id}:{ctx.source_server}"
