"""Who does what in a multi-process deployment (docs/scaling.md).

Every process runs the same code; the ``workers`` config section names the
processes and their roles, and ``WorkerTopology`` answers, the same way in
every process: which process writes a stream (``writer_of``), which event
persister writes a room's events (``event_writer_for``), whether this process
runs a duty (``runs``), which federation sender serves a destination
(``federation_sender_for``) and where a process's internal HTTP is
(``internal_url``). With no instances configured, main is all of them.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence

import attrs

from homeserver.config.model import HomeserverConfig, ListenerConfig
from homeserver.config.sections.workers import WorkersConfig

MAIN = "main"
"""The main process's name."""

EVENTS_STREAM = "events"


class Role(enum.StrEnum):
    """A process's role."""

    MAIN = "main"
    CLIENT_READER = "client_reader"
    EVENT_PERSISTER = "event_persister"
    FEDERATION_SENDER = "federation_sender"
    FEDERATION_READER = "federation_reader"
    MEDIA = "media"
    PUSHER = "pusher"
    APPSERVICE = "appservice"
    BACKGROUND = "background"


class Duty(enum.StrEnum):
    """Background work exactly one process (or one shard) does."""

    FEDERATION_SENDING = "federation_sending"
    PUSHING = "pushing"
    APPSERVICE_SENDING = "appservice_sending"
    BACKGROUND_TASKS = "background_tasks"
    MEDIA_JOBS = "media_jobs"


ROLE_OF_DUTY: dict[Duty, Role] = {
    Duty.FEDERATION_SENDING: Role.FEDERATION_SENDER,
    Duty.PUSHING: Role.PUSHER,
    Duty.APPSERVICE_SENDING: Role.APPSERVICE,
    Duty.BACKGROUND_TASKS: Role.BACKGROUND,
    Duty.MEDIA_JOBS: Role.MEDIA,
}
"""The role that takes a duty off main when an instance of it exists."""

WORKER_RESOURCES = ("client", "federation", "metrics", "replication")
"""What a worker's one listener serves."""


class UnknownWorker(ValueError):
    """``--worker NAME`` names no instance of the config."""


@attrs.frozen(kw_only=True)
class Instance:
    """One process of the deployment."""

    name: str
    role: Role
    port: int
    """Its internal HTTP port on 127.0.0.1."""
    bind_address: str = "127.0.0.1"


def stable_shard(key: str, count: int) -> int:
    """The same index in ``range(count)`` for ``key`` in every process and
    every run (unlike ``hash()``, which is salted per process)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def main_internal_port(config: HomeserverConfig) -> int:
    """The port workers reach main at: ``workers.main_port``, else the first
    plain-HTTP listener's."""
    if config.workers.main_port is not None:
        return config.workers.main_port
    plain = [lst for lst in config.listeners if not lst.tls]
    return (plain or list(config.listeners))[0].port


@attrs.frozen(kw_only=True)
class WorkerTopology:
    """The deployment as one process sees it.

    Attributes:
        this: the process this code runs in.
        instances: every process, main first, by name.
        workers: the ``workers`` config section.
    """

    this: Instance
    instances: dict[str, Instance]
    workers: WorkersConfig

    @classmethod
    def from_config(cls, config: HomeserverConfig, name: str = MAIN) -> WorkerTopology:
        """The topology of ``config`` seen from process ``name``.

        Raises:
            UnknownWorker: no instance is called ``name``.
        """
        main = Instance(name=MAIN, role=Role.MAIN, port=main_internal_port(config))
        instances = {MAIN: main}
        for item in config.workers.instances:
            instances[item.name] = Instance(
                name=item.name,
                role=Role(item.role),
                port=item.port,
                bind_address=item.bind_address,
            )
        if name not in instances:
            known = ", ".join(sorted(instances))
            raise UnknownWorker(f"no worker called {name!r} in the config ({known})")
        return cls(this=instances[name], instances=instances, workers=config.workers)

    @property
    def enabled(self) -> bool:
        """Whether there are several processes (replication over Redis on)."""
        return self.workers.enabled

    @property
    def is_main(self) -> bool:
        """Whether this is the main process."""
        return self.this.name == MAIN

    def of_role(self, role: Role) -> tuple[str, ...]:
        """The names of the instances with ``role``, in config order."""
        return tuple(n for n, i in self.instances.items() if i.role == role)

    def event_writers(self) -> tuple[str, ...]:
        """The writers of the events stream: the event persisters, else main."""
        return self.of_role(Role.EVENT_PERSISTER) or (MAIN,)

    def event_writer_for(self, room_id: str) -> str:
        """The process that persists ``room_id``'s events (stable hash over
        the event persisters)."""
        writers = self.event_writers()
        return writers[stable_shard(room_id, len(writers))]

    def writer_of(self, stream: str) -> str:
        """The one process that writes ``stream`` (not events: see
        ``event_writer_for``)."""
        if stream == EVENTS_STREAM:
            raise ValueError("the events stream is sharded: use event_writer_for")
        return self.workers.stream_writers.get(stream, MAIN)

    def writes(self, stream: str) -> bool:
        """Whether this process writes ``stream`` (for events: any room)."""
        if stream == EVENTS_STREAM:
            return self.this.name in self.event_writers()
        return self.writer_of(stream) == self.this.name

    def owners(self, duty: Duty) -> tuple[str, ...]:
        """The processes doing ``duty``: its role's instances, else main."""
        return self.of_role(ROLE_OF_DUTY[duty]) or (MAIN,)

    def runs(self, duty: Duty) -> bool:
        """Whether this process does ``duty`` (or a shard of it)."""
        return self.this.name in self.owners(duty)

    def federation_sender_for(self, destination: str) -> str:
        """The process that sends to ``destination`` (stable hash over the
        federation senders, else main)."""
        senders = self.owners(Duty.FEDERATION_SENDING)
        return senders[stable_shard(destination, len(senders))]

    def internal_url(self, name: str) -> str:
        """The base URL of process ``name``'s internal HTTP (no trailing /)."""
        return f"http://127.0.0.1:{self.instances[name].port}"

    def worker_listeners(self) -> Sequence[ListenerConfig]:
        """The listener of a worker process (main uses the config's)."""
        return [
            ListenerConfig(
                port=self.this.port,
                bind_addresses=[self.this.bind_address],
                resources=list(WORKER_RESOURCES),  # type: ignore[arg-type]
                x_forwarded=True,
            )
        ]
