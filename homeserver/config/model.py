"""The config model: one frozen attrs class per section.

Every field is declared with ``option(doc=...)``; the sample config
(``config/homeserver.sample.yaml``) is generated from these declarations.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from homeserver.config.fields import option, port_number, positive
from homeserver.util.structure import ByteSize, Duration, check

# Never reached by outbound federation unless ip_range_whitelist allows it.
DEFAULT_IP_RANGE_BLACKLIST = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "192.0.0.0/24",
    "169.254.0.0/16",
    "192.88.99.0/24",
    "198.18.0.0/15",
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "0.0.0.0/8",
    "::1/128",
    "fe80::/10",
    "fc00::/7",
    "2001:db8::/32",
    "ff00::/8",
    "fec0::/10",
    "::/128",
)

ROOM_VERSIONS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12")


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
    resources: list[Literal["client", "federation", "metrics"]] = option(
        factory=lambda: ["client", "federation"],
        doc="What the listener serves: client, federation and/or metrics.",
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
    cp_max: int = option(
        8, doc="PostgreSQL: most connections open at once.", validator=positive
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
        check(self.cp_min <= self.cp_max, "cp_min", "must not be above cp_max")


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
        from homeserver.federation.transport.discovery import split_server_name

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
class RegistrationConfig:
    """Who may create accounts."""

    enable_registration: bool = option(
        False, doc="Allow anyone to register through /register. Off by default."
    )
    registration_requires_token: bool = option(
        False,
        doc="Registration needs a token created by an admin (m.login.registration_token).",
    )
    registration_shared_secret: str | None = option(
        None,
        doc="Secret for the shared-secret admin registration endpoint "
        "(/_synapse/admin/v1/register), used by 'synctl register-user'.",
        secret=True,
    )
    password_min_length: int = option(8, doc="Shortest password accepted.")


@attrs.frozen(kw_only=True)
class PasswordHashingConfig:
    """How passwords are hashed."""

    scheme: Literal["argon2id", "bcrypt"] = option(
        "argon2id", doc="The hash for new passwords."
    )
    argon2_time_cost: int = option(3, doc="argon2id iterations.", validator=positive)
    argon2_memory_cost_kib: int = option(
        65536, doc="argon2id memory in KiB.", validator=positive
    )
    argon2_parallelism: int = option(4, doc="argon2id lanes.", validator=positive)
    bcrypt_rounds: int = option(12, doc="bcrypt log2 cost.", validator=positive)


@attrs.frozen(kw_only=True)
class JwtConfig:
    """JSON Web Token login (m.login.jwt)."""

    enabled: bool = option(False, doc="Accept m.login.jwt logins.")
    secret: str | None = option(
        None,
        doc="The HMAC secret, or the PEM public key for RS*/ES* algorithms.",
        secret=True,
    )
    algorithm: str = option(
        "HS256", doc="The expected JWT algorithm, e.g. HS256 or RS256."
    )
    subject_claim: str = option(
        "sub", doc="The claim holding the user's localpart or ID."
    )
    issuer: str | None = option(None, doc="When set, the iss claim must equal it.")
    audiences: list[str] = option(
        factory=list, doc="When set, the aud claim must name one of these."
    )

    def __attrs_post_init__(self) -> None:
        check(
            not self.enabled or bool(self.secret), "secret", "is required when enabled"
        )


@attrs.frozen(kw_only=True)
class TokenLoginConfig:
    """m.login.token issued by /login/get_token to an existing session."""

    enabled: bool = option(
        False, doc="Allow signed-in devices to mint one-time login tokens."
    )
    require_ui_auth: bool = option(True, doc="Ask for the password before minting one.")
    token_timeout: Duration = option(
        Duration(120_000), doc="How long a login token stays valid.", example="2m"
    )


@attrs.frozen(kw_only=True)
class AuthConfig:
    """Logins, tokens and sessions."""

    access_token_lifetime: Duration = option(
        Duration(300_000),
        doc="Lifetime of access tokens issued with a refresh token (clients that "
        "send refresh_token: true). Other access tokens do not expire.",
        example="5m",
    )
    refresh_token_lifetime: Duration | None = option(
        None, doc="Lifetime of refresh tokens; unset means they last until used."
    )
    ui_auth_session_timeout: Duration = option(
        Duration(900_000),
        doc="How long a user-interactive auth session lasts.",
        example="15m",
    )
    password_hashing: PasswordHashingConfig = option(
        factory=PasswordHashingConfig, doc="Password hashing."
    )
    jwt: JwtConfig = option(factory=JwtConfig, doc="JWT login.")
    token_login: TokenLoginConfig = option(factory=TokenLoginConfig, doc="Token login.")


@attrs.frozen(kw_only=True)
class RateLimit:
    """A token bucket: a steady rate and a burst."""

    per_second: float = option(
        doc="Requests per second allowed on average.", validator=positive
    )
    burst_count: int = option(
        doc="Requests allowed at once before limiting.", validator=positive
    )


@attrs.frozen(kw_only=True)
class RateLimitConfig:
    """Request rate limits; 429 M_LIMIT_EXCEEDED past them."""

    enabled: bool = option(True, doc="Turn all rate limiting on or off.")
    login_per_address: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.2, burst_count=5),
        doc="Login attempts per client IP address.",
    )
    login_per_account: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.1, burst_count=5),
        doc="Login attempts per account.",
    )
    login_failed_attempts: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.05, burst_count=3),
        doc="Failed login attempts per account.",
    )
    registration_per_address: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.17, burst_count=3),
        doc="Registrations per client IP address.",
    )
    message: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.2, burst_count=10),
        doc="Events a user sends into rooms (messages, state, redactions), per "
        "user (Synapse's rc_message). Server admins and application services "
        "are exempt from this and every other per-user limit below.",
    )
    joins_local: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.1, burst_count=10),
        doc="Joins of rooms this server is already in, per user (rc_joins.local).",
    )
    joins_remote: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.01, burst_count=10),
        doc="Joins through another server, per user (rc_joins.remote).",
    )
    invites_per_room: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.3, burst_count=10),
        doc="Invites sent into one room, by anyone (rc_invites.per_room).",
    )
    invites_per_user: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.003, burst_count=5),
        doc="Invites one user receives (rc_invites.per_user).",
    )
    invites_per_issuer: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.3, burst_count=10),
        doc="Invites one user sends (rc_invites.per_issuer).",
    )
    room_creation: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.016, burst_count=10),
        doc="Rooms one user creates (rc_room_creation).",
    )
    to_device: RateLimit = option(
        factory=lambda: RateLimit(per_second=20, burst_count=100),
        doc="sendToDevice requests per user (as Synapse's rc_key_requests).",
    )
    new_destinations: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.1, burst_count=50),
        doc="Servers this server has never sent to that one user's sendToDevice "
        "requests may make it contact, counted per server.",
    )


@attrs.frozen(kw_only=True)
class ToDeviceConfig:
    """Send-to-device messaging."""

    max_messages_per_request: int = option(
        1000,
        doc="Most (user, device) entries one sendToDevice request may address "
        "(a '*' entry counts once); more are answered 413 M_TOO_LARGE.",
        validator=positive,
    )
    max_servers_per_request: int = option(
        100,
        doc="Most other servers one sendToDevice request may address; more are "
        "answered 413 M_TOO_LARGE.",
        validator=positive,
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
        doc="Log file, relative to the data directory; '-' for stderr.",
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


@attrs.frozen(kw_only=True)
class RoomDirectoryConfig:
    """Room aliases and the published room directory."""

    allow_public_rooms_without_auth: bool = option(
        False,
        doc="Let clients without an access token list this server's published rooms "
        "(GET /publicRooms). Off by default, as in Synapse.",
    )
    require_membership_for_aliases: bool = option(
        True,
        doc="Only users joined to a room (and server admins) may create aliases "
        "for it, as in Synapse.",
    )


@attrs.frozen(kw_only=True)
class PresenceConfig:
    """User presence: online, unavailable (idle) or offline."""

    enabled: bool = option(
        True,
        doc="Track presence and share it with users who share a room. When off, "
        "PUT /presence is accepted and ignored, GET /presence answers offline and "
        "/sync carries no presence.",
    )
    idle_timeout: Duration = option(
        Duration(300_000),
        doc="An online user who does nothing (send, set presence) for this long "
        "becomes unavailable.",
        example="5m",
        validator=positive,
    )
    sync_online_timeout: Duration = option(
        Duration(30_000),
        doc="A user with no /sync in progress becomes offline this long after "
        "their last /sync ended or they last did something.",
        example="30s",
        validator=positive,
    )


@attrs.frozen(kw_only=True)
class WebSocketConfig:
    """The WebSocket client transport (docs/websocket.md)."""

    enabled: bool = option(
        True,
        doc="Serve the WebSocket transport on every listener with the client "
        "resource: sync pushed as it happens, and client API requests over the "
        "same socket.",
    )
    path: str = option(
        "/_chatly/client/v1/ws",
        doc="The path WebSocket upgrades are accepted at. A plain GET there is "
        "answered 426 M_UNRECOGNIZED.",
    )
    max_pending_bytes: ByteSize = option(
        ByteSize(8 * 1024 * 1024),
        doc="Slow readers: a socket is closed (4008 'slow reader') when this much "
        "more is queued for it after its send buffer is already full.",
        example="8M",
        validator=positive,
    )
    max_pending_time: Duration = option(
        Duration(60_000),
        doc="Slow readers: a socket is closed (4008 'slow reader') when a sync "
        "response sent to it is still not acknowledged by a WebSocket pong this "
        "long after it was sent.",
        example="60s",
        validator=positive,
    )
    ping_interval: Duration = option(
        Duration(30_000),
        doc="Keepalive: send a WebSocket ping after this long without one.",
        example="30s",
        validator=positive,
    )
    ping_timeout: Duration = option(
        Duration(10_000),
        doc="Keepalive: drop the connection when a ping is not answered in time.",
        example="10s",
        validator=positive,
    )
    auth_timeout: Duration = option(
        Duration(30_000),
        doc="A socket that has not authenticated this long after opening is closed "
        "(4001).",
        example="30s",
        validator=positive,
    )
    max_concurrent_requests: int = option(
        16,
        doc="Requests one socket may have in progress at once; more are answered "
        "429 M_LIMIT_EXCEEDED.",
        validator=positive,
    )

    def __attrs_post_init__(self) -> None:
        check(self.path.startswith("/"), "path", "must start with /")
        check(
            not self.path.startswith("/_matrix/"),
            "path",
            "must not be under /_matrix/, which the Matrix spec owns",
        )


def _ed25519_key(_inst: Any, _attribute: Any, value: str) -> None:
    """Validator: an ed25519 public key in unpadded base64."""
    from unpaddedbase64 import decode_base64

    try:
        raw = decode_base64(value)
    except Exception:  # binascii.Error and friends
        raise ValueError("expected unpadded base64") from None
    if len(raw) != 32:
        raise ValueError("expected a 32-byte ed25519 public key")


@attrs.frozen(kw_only=True)
class OldSigningKey:
    """A signing key this server no longer signs with."""

    key: str = option(doc="The public key, unpadded base64.", validator=_ed25519_key)
    expired_ts: int = option(
        doc="When the key stopped being used, in milliseconds since the epoch."
    )


@attrs.frozen(kw_only=True)
class TrustedKeyServer:
    """A notary server trusted to vouch for other servers' signing keys."""

    server_name: str = option(doc="The notary's server name.", example="matrix.org")
    verify_keys: dict[str, str] = option(
        factory=dict,
        doc="The notary's own keys, key ID to unpadded base64. Empty: fetch them "
        "from the notary directly.",
    )


@attrs.frozen(kw_only=True)
class FederationConfig:
    """Talking to other homeservers (docs/federation.md)."""

    enabled: bool = option(
        True,
        doc="Send events to and accept events from other servers. When off, the "
        "federation endpoints answer 403 and nothing is sent out.",
    )
    verify_certificates: bool = option(
        True,
        doc="Check other servers' TLS certificates. Turn off only in test set-ups "
        "(synctl init --insecure-federation-for-testing does).",
    )
    ip_range_blacklist: list[str] = option(
        factory=lambda: list(DEFAULT_IP_RANGE_BLACKLIST),
        doc="Outbound federation requests never go to these address ranges "
        "(protection against SSRF). The default lists private, loopback, "
        "link-local and other special-purpose ranges.",
    )
    ip_range_whitelist: list[str] = option(
        factory=list,
        doc="Ranges that are allowed even though ip_range_blacklist covers them, "
        "e.g. ['127.0.0.0/8'] for servers on this machine.",
    )
    domain_whitelist: list[str] | None = option(
        None,
        doc="If set, federate only with these server names: requests from others "
        "are refused with 403 and nothing is sent to them.",
    )
    trusted_key_servers: list[TrustedKeyServer] = option(
        factory=list,
        doc="Notary servers asked for another server's keys when that server "
        "cannot be reached directly. Each entry is a mapping, e.g. "
        "{server_name: matrix.org, verify_keys: {'ed25519:auto': <base64>}}; "
        "without verify_keys the notary's own keys are fetched from it.",
    )
    old_signing_keys: dict[str, OldSigningKey] = option(
        factory=dict,
        doc="Signing keys this server used before, published as old_verify_keys "
        "so events they signed stay verifiable, e.g. "
        "{'ed25519:old': {key: <base64 public key>, expired_ts: 1700000000000}}.",
    )
    request_timeout: Duration = option(
        Duration(60_000),
        doc="How long one outbound federation request may take.",
        example="60s",
        validator=positive,
    )
    connect_timeout: Duration = option(
        Duration(10_000),
        doc="How long looking up one of a destination's hosts, and connecting to "
        "one of its addresses (TCP and the TLS handshake together), may take "
        "before the next address is tried.",
        example="10s",
        validator=positive,
    )
    max_retry_interval: Duration = option(
        Duration(3_600_000),
        doc="Backoff for an unreachable destination doubles up to this long between "
        "attempts.",
        example="1h",
        validator=positive,
    )
    key_fetch_timeout: Duration = option(
        Duration(10_000),
        doc="How long fetching another server's signing keys (from it, or from a "
        "trusted key server) may take. Inbound requests and events wait for it, so "
        "it is shorter than request_timeout.",
        example="10s",
        validator=positive,
    )
    key_refetch_interval: Duration = option(
        Duration(30_000),
        doc="After asking a server for its keys (answered or not), wait this long "
        "before asking it again; a key found nowhere is not looked for again for "
        "this long either. Stops an unreachable or misbehaving server from costing "
        "a key request for every request or event that names it.",
        example="30s",
        validator=positive,
    )


@attrs.frozen(kw_only=True)
class HomeserverConfig:
    """The whole homeserver.yaml."""

    server: ServerConfig = option(doc="Who this server is.")
    listeners: list[ListenerConfig] = option(
        factory=lambda: [ListenerConfig(port=8008)], doc="HTTP listeners."
    )
    tls: TlsConfig = option(factory=TlsConfig, doc="TLS for listeners that ask for it.")
    database: DatabaseConfig = option(factory=DatabaseConfig, doc="Storage.")
    http: HttpConfig = option(factory=HttpConfig, doc="The HTTP layer.")
    well_known: WellKnownConfig = option(
        factory=WellKnownConfig, doc="Discovery documents."
    )
    registration: RegistrationConfig = option(
        factory=RegistrationConfig, doc="Registration."
    )
    auth: AuthConfig = option(factory=AuthConfig, doc="Login, tokens and passwords.")
    rate_limiting: RateLimitConfig = option(factory=RateLimitConfig, doc="Rate limits.")
    to_device: ToDeviceConfig = option(
        factory=ToDeviceConfig, doc="Send-to-device messaging."
    )
    metrics: MetricsConfig = option(factory=MetricsConfig, doc="Prometheus metrics.")
    logging: LoggingConfig = option(factory=LoggingConfig, doc="Logging.")
    admin: AdminConfig = option(factory=AdminConfig, doc="Administration.")
    room_directory: RoomDirectoryConfig = option(
        factory=RoomDirectoryConfig,
        doc="Room aliases and the published room directory.",
    )
    presence: PresenceConfig = option(
        factory=PresenceConfig, doc="User presence (online, idle, offline)."
    )
    websocket: WebSocketConfig = option(
        factory=WebSocketConfig, doc="The WebSocket client transport."
    )
    federation: FederationConfig = option(
        factory=FederationConfig, doc="Talking to other homeservers."
    )

    def __attrs_post_init__(self) -> None:
        check(len(self.listeners) > 0, "listeners", "at least one listener is required")
        ports = [listener.port for listener in self.listeners]
        check(len(ports) == len(set(ports)), "listeners", "two listeners share a port")
        check(
            not any(lst.tls for lst in self.listeners)
            or bool(self.tls.certificate_path and self.tls.private_key_path),
            "tls",
            "a listener has tls: true, so certificate_path and private_key_path "
            "are required",
        )

    def client_base_url(self) -> str:
        """The URL clients reach this server at."""
        if self.server.public_baseurl:
            return self.server.public_baseurl.rstrip("/") + "/"
        listener = next(
            (lst for lst in self.listeners if "client" in lst.resources),
            self.listeners[0],
        )
        scheme = "https" if listener.tls else "http"
        host = listener.bind_addresses[0] if listener.bind_addresses else "127.0.0.1"
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{listener.port}/"
