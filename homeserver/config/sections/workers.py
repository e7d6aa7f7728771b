"""Config section: workers (scale-out over PostgreSQL and Redis, docs/scaling.md).

One config file describes the whole deployment: the main process and every
worker process (``instances``), each started with
``python -m homeserver --worker NAME``. With no instances (the default) the
server is one process and needs no Redis.
"""

from __future__ import annotations

from typing import Literal

import attrs

from homeserver.config.fields import option, port_number, positive
from homeserver.util.structure import check

WorkerRole = Literal[
    "client_reader",
    "event_persister",
    "federation_sender",
    "federation_reader",
    "media",
    "pusher",
    "appservice",
    "background",
]
"""The roles a worker instance may take (``main`` is the main process's)."""

WRITABLE_STREAMS = (
    "account_data",
    "receipts",
    "typing",
    "presence",
    "to_device",
    "device_lists",
)
"""The streams ``stream_writers`` may move off main (events follow the event
persisters instead)."""

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


@attrs.frozen(kw_only=True)
class WorkerInstanceConfig:
    """One worker process."""

    name: str = option(
        doc="The worker's unique name: `python -m homeserver --worker NAME` "
        "starts it. Lower-case letters, digits, '_' and '-'; 'main' is the "
        "main process's."
    )
    role: WorkerRole = option(
        doc="What the worker does: client_reader (/sync, WebSocket, reads), "
        "event_persister (writes the events stream, sharded by room), "
        "federation_sender (sharded by destination), federation_reader, "
        "media, pusher, appservice or background."
    )
    port: int = option(
        doc="The port the worker's HTTP listener (client, federation, metrics "
        "and replication) listens on.",
        validator=port_number,
    )
    bind_address: str = option(
        "127.0.0.1",
        doc="The address the worker listens on; other processes reach it at "
        "127.0.0.1 on its port.",
    )

    def __attrs_post_init__(self) -> None:
        check(
            bool(self.name) and set(self.name) <= _NAME_CHARS,
            "name",
            f"{self.name!r}: use lower-case letters, digits, '_' and '-'",
        )
        check(self.name != "main", "name", "'main' is the main process's name")


@attrs.frozen(kw_only=True)
class WorkersConfig:
    """Worker processes and the Redis that replicates between them."""

    redis_url: str | None = option(
        None,
        doc="The Redis that carries replication between processes "
        "(Redis Streams), e.g. redis://127.0.0.1:6379/0. Required when "
        "instances is not empty; unused otherwise.",
    )
    redis_prefix: str = option(
        "chatly",
        doc="Prefix of every Redis key this deployment uses, so deployments "
        "can share one Redis.",
    )
    stream_maxlen: int = option(
        100_000,
        doc="Entries kept per replication stream (XADD MAXLEN ~). A process "
        "that falls further behind resynchronises from PostgreSQL.",
        validator=positive,
    )
    replication_secret_path: str = option(
        "replication.secret",
        doc="File holding the shared secret of the internal replication HTTP "
        "API (relative to the data directory). `synctl start` (and the main "
        "process) create it when missing (mode 0600).",
    )
    main_port: int | None = option(
        None,
        doc="The port workers reach the main process's internal HTTP at "
        "(on 127.0.0.1). Default: the first plain-HTTP listener's port.",
    )
    instances: list[WorkerInstanceConfig] = option(
        factory=list,
        doc="Every process besides main, all on one PostgreSQL database "
        "(database.engine: postgres), e.g. [{name: reader1, role: "
        "client_reader, port: 8101, bind_address: 127.0.0.1}]. Empty: one "
        "process, no Redis.",
    )
    stream_writers: dict[str, str] = option(
        factory=dict,
        doc="Which process writes each stream, e.g. {typing: reader1, "
        "receipts: main}; every stream not named is written by main. The "
        "events stream is never here: the event_persister instances write it.",
    )

    @property
    def enabled(self) -> bool:
        """Whether this is a multi-process deployment."""
        return bool(self.instances)

    def __attrs_post_init__(self) -> None:
        names = [instance.name for instance in self.instances]
        check(
            len(names) == len(set(names)),
            "instances",
            "two instances share a name",
        )
        ports = [instance.port for instance in self.instances]
        check(len(ports) == len(set(ports)), "instances", "two instances share a port")
        check(
            not self.instances or bool(self.redis_url),
            "redis_url",
            "required when instances is not empty (replication runs over Redis)",
        )
        check(
            self.redis_url is None
            or self.redis_url.startswith(("redis://", "rediss://", "unix://")),
            "redis_url",
            "expected a redis://, rediss:// or unix:// URL",
        )
        check(bool(self.redis_prefix), "redis_prefix", "must not be empty")
        for stream, writer in self.stream_writers.items():
            check(
                stream in WRITABLE_STREAMS,
                f"stream_writers.{stream}",
                f"unknown stream; one of {', '.join(WRITABLE_STREAMS)} "
                "(events follow the event_persister instances)",
            )
            check(
                writer == "main" or writer in names,
                f"stream_writers.{stream}",
                f"{writer!r} is not main or a name in instances",
            )
