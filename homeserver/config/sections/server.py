"""Config sections: who the server is, listeners, TLS, storage, HTTP, discovery,
metrics, logging and administration."""

from __future__ import annotations

import os
from typing import Any, Literal

import attrs

from homeserver.config.fields import option, port_number, positive
from homeserver.events.ids import split_server_name
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.util.structure import ByteSize, Duration, check

# The room versions this server implements, from the protocol core (one list).
ROOM_VERSIONS: tuple[str, ...] = tuple(KNOWN_ROOM_VERSIONS)


@attrs.frozen(kw_only=True)
class ServerConfig:
    """Who this server is."""

    server_name: str = option(
        doc="The domain part of every user ID and room alias on this server. "
        "It cannot be changed once users exist.",
        example="example.com",
    )
    public_baseurl: str | None = option(
        None,
        doc="The URL clients use to reach this server, e.g. https://matrix.example.com/. "
        "Defaults to the address and port of the first client listener.",
    )
    signing_key_path: str = option(
        "signing.key",
        doc="The ed25519 signing key file, relative to the data directory.",
    )
    default_room_version: str = option(
        "10", doc="The room version new rooms get unless the client asks for another."
    )
    enable_search: bool = option(
        True,
        doc="Full-text search of room messages, names and topics (POST /search). "
        "When off, nothing new is indexed and /search answers 400 M_UNKNOWN, "
        "as in Synapse; turning it back on indexes only what arrives from then on.",
    )

    def __attrs_post_init__(self) -> None:
        check(bool(self.server_name.strip()), "server_name", "must not be empty")
        check(
            self.default_room_version in ROOM_VERSIONS,
            "default_room_version",
            "expected one of " + ", ".join(ROOM_VERSIONS),
        )


@attrs.frozen(kw_only=True)
class ListenerConfig:
    """One HTTP listener."""

    port: int = option(doc="The TCP port.", validator=port_number)
    bind_addresses: list[str] = option(
        factory=lambda: ["127.0.0.1"],
        doc="Addresses to listen on. Use ['::', '0.0.0.0'] for all interfaces.",
    )
    type: Literal["http"] = option(
        "http", doc="The listener type; only 'http' for now."
    )
    tls: bool = option(
        False, doc="Serve HTTPS with the certificate in the tls section."
    )
    x_forwarded: bool = option(
        False,
        doc="Trust X-Forwarded-For from a reverse proxy for the client's address.",
    )
    resources: list[
        Literal["client", "federation", "metrics", "openid", "replication"]
    ] = option(
        factory=lambda: ["client", "federation"],
        doc="What the listener serves: client, federation and/or metrics; "
        "openid serves only the OpenID userinfo endpoint of the federation API "
        "(for integration managers, as Synapse's openid resource), which "
        "federation includes; replication the internal API of worker "
        "deployments (/_chatly/replication, secret-protected; client "
        "listeners serve it too when workers are configured).",
    )
    backlog: int = option(
        1024,
        doc="How many new connections the kernel queues for the listener before "
        "accepting them (listen(2) backlog; Linux caps it at net.core.somaxconn). "
        "Twisted's and Synapse's 50 makes a burst of connections wait for "
        "retransmits.",
        validator=positive,
    )


@attrs.frozen(kw_only=True)
class TlsConfig:
    """The certificate for listeners with ``tls: true``."""

    certificate_path: str | None = option(
        None,
        doc="PEM certificate (chain) file, relative to the data directory. "
        "`synctl init --self-signed-tls` writes a self-signed one for testing.",
        example="tls.crt",
    )
    private_key_path: str | None = option(
        None,
        doc="PEM private key file of the certificate, relative to the data directory.",
        example="tls.key",
    )


@attrs.frozen(kw_only=True)
class DatabaseConfig:
    """Where data is kept."""

    engine: Literal["sqlite", "postgres"] = option(
        "sqlite", doc="sqlite (embedded, one machine) or postgres (production)."
    )
    path: str = option(
        "homeserver.db", doc="The SQLite database file, relative to the data directory."
    )
    dsn: str | None = option(
        None,
        doc="The PostgreSQL libpq connection string, e.g. "
        "'host=127.0.0.1 user=chatly dbname=chatly password=...'.",
        secret=True,
    )
    cp_min: int = option(
        2, doc="PostgreSQL: connections kept open.", validator=positive
    )
    cp_max: int | None = option(
        None,
        doc="PostgreSQL: most connections open at once (one database thread "
        "each). Unset: two per CPU this process may run on, at least cp_min "
        "and at most 32 (4 on a 2-core machine).",
        validator=positive,
    )
    txn_retries: int = option(
        5,
        doc="How often a transaction is retried after a deadlock or serialisation failure.",
    )

    def __attrs_post_init__(self) -> None:
        check(
            self.engine != "postgres" or bool(self.dsn),
            "dsn",
            "is required when engine is postgres",
        )
        check(
            self.cp_max is None or self.cp_min <= self.cp_max,
            "cp_min",
            "must not be above cp_max",
        )

    def pool_size(self, cpus: int | None = None) -> int:
        """The most connections open at once: ``cp_max``, or when unset two
        per CPU (``cpus``, else those this process may run on), at least
        ``cp_min`` and at most ``MAX_AUTO_CONNECTIONS``."""
        if self.cp_max is not None:
            return self.cp_max
        if cpus is None:
            cpus = available_cpus()
        return max(self.cp_min, min(2 * cpus, MAX_AUTO_CONNECTIONS))


# The most connections an unset database.cp_max ever gives.
MAX_AUTO_CONNECTIONS = 32


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the
    platform has one), at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)


@attrs.frozen(kw_only=True)
class HttpConfig:
    """The HTTP layer."""

    max_request_body_size: ByteSize = option(
        ByteSize(10 * 1024 * 1024),
        doc="Largest request body accepted (JSON). Bigger requests get 413 M_TOO_LARGE.",
        example="10M",
    )
    cors_allowed_origins: list[str] = option(
        factory=lambda: ["*"],
        doc="Origins browser clients may call from; '*' allows any.",
    )
    request_header_timeout: Duration = option(
        Duration(30_000),
        doc="A request's line and headers must all arrive within this long of its "
        "first byte, or the connection is closed (however steadily the bytes "
        "trickle in).",
        example="30s",
        validator=positive,
    )
    request_body_timeout: Duration = option(
        Duration(60_000),
        doc="A request's body must arrive in full within this long of the end of "
        "its headers, or it is answered 408 M_UNKNOWN and the connection is "
        "closed.",
        example="60s",
        validator=positive,
    )


def _server_name(_inst: Any, _attribute: Any, value: str | None) -> None:
    """Validator: host[:port], as in a server name."""
    if value is not None:
        split_server_name(value)


@attrs.frozen(kw_only=True)
class WellKnownConfig:
    """Discovery documents under /.well-known/matrix/."""

    client_base_url: str | None = option(
        None,
        doc="When set, /.well-known/matrix/client answers with this m.homeserver base_url.",
        example="https://matrix.example.com",
    )
    identity_server: str | None = option(
        None, doc="Identity server advertised in /.well-known/matrix/client."
    )
    server: str | None = option(
        None,
        doc="When set, /.well-known/matrix/server on client listeners delegates "
        "federation to this host[:port] (m.server), so other servers reach this "
        "server there instead of at server_name:8448. Unset: 404.",
        example="matrix.example.com:443",
        validator=_server_name,
    )


@attrs.frozen(kw_only=True)
class MetricsConfig:
    """Prometheus metrics."""

    enabled: bool = option(
        False,
        doc="Serve Prometheus metrics at /metrics (and /_synapse/metrics) on "
        "listeners that have the metrics resource, or on every listener if none does.",
    )


@attrs.frozen(kw_only=True)
class LoggingConfig:
    """Logs."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = option(
        "INFO", doc="Log level."
    )
    file: str = option(
        "homeserver.log",
        doc="Log file, relative to the data directory; '-' for stderr. Each "
        "worker logs to a file of its own next to it, e.g. homeserver-reader1.log.",
    )
    format: Literal["text", "json"] = option(
        "text", doc="Plain text or one JSON object a line."
    )


@attrs.frozen(kw_only=True)
class AdminConfig:
    """Administration."""

    admin_contact: str | None = option(
        None, doc="An e-mail or Matrix ID shown to users when something goes wrong."
    )
