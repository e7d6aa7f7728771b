"""Long admin jobs run in the background with a status an admin can poll:
room deletions (v2), history purges and redactions of a user's events
(Synapse's ``delete_status``, ``purge_history_status`` and ``redact_status``).
The status is kept in the database (``admin_tasks``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from homeserver.errors import MatrixError
from homeserver.storage.stores.admin_tasks import (
    ACTIVE,
    COMPLETE,
    FAILED,
    AdminTask,
    AdminTaskStore,
)
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock
from homeserver.util.tokens import random_string

logger = logging.getLogger(__name__)

# How long a finished job's status can be read by its target (as Synapse).
KEEP_FINISHED_MS = 24 * 60 * 60 * 1000

Result = dict[str, Any]


class Progress:
    """Lets a running job record what it has done so far."""

    def __init__(self, tasks: AdminTasks, task_id: str, result: Result) -> None:
        self._tasks = tasks
        self.task_id = task_id
        self.result = result

    async def update(self, **changes: Any) -> None:
        """Merge ``changes`` into the job's result and store it."""
        self.result.update(changes)
        await self._tasks.store.update_task(
            self.task_id, ACTIVE, self.result, self._tasks.clock.time_msec()
        )


Work = Callable[[Progress], Awaitable[None]]


class AdminTasks:
    """Starts admin jobs and reads their status."""

    def __init__(self, store: AdminTaskStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def start(self, kind: str, target: str, result: Result, work: Work) -> str:
        """Record a job and run ``work`` in the background; the job's ID."""
        task_id = random_string(16)
        await self.store.insert_task(
            task_id, kind, target, result, self.clock.time_msec()
        )
        progress = Progress(self, task_id, dict(result))
        run_in_background(f"admin_task_{kind}", self._run(progress, work))
        return task_id

    async def _run(self, progress: Progress, work: Work) -> None:
        await progress.update()
        status, error = COMPLETE, None
        try:
            await work(progress)
        except MatrixError as exc:
            status, error = FAILED, exc.msg
        except Exception as exc:  # noqa: BLE001 - the status says it failed
            logger.exception("admin task failed", extra={"task": progress.task_id})
            status, error = FAILED, str(exc) or type(exc).__name__
        await self.store.update_task(
            progress.task_id, status, progress.result, self.clock.time_msec(), error
        )

    async def get(self, kind: str, task_id: str) -> AdminTask | None:
        """One job by ID."""
        return await self.store.get_task(kind, task_id)

    async def get_for(self, kind: str, target: str) -> list[AdminTask]:
        """The target's unfinished jobs and those finished in the last day."""
        since = self.clock.time_msec() - KEEP_FINISHED_MS
        return await self.store.get_tasks_for(kind, target, since)

    async def fail_unfinished(self) -> None:
        """At startup: jobs the last run left unfinished are failed."""
        count = await self.store.fail_unfinished(self.clock.time_msec())
        if count:
            logger.warning("admin tasks interrupted by a restart", extra={"n": count})
