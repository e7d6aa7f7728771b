"""The config model: one frozen attrs class per section.

Every field is declared with ``option(doc=...)``; the sample config
(``config/homeserver.sample.yaml``) is generated from these declarations.
"""

from __future__ import annotations

import attrs

from homeserver.config.fields import option
from homeserver.config.sections.accounts import (  # noqa: F401 - re-exported
    AuthConfig,
    JwtConfig,
    PasswordHashingConfig,
    RegistrationConfig,
    TokenLoginConfig,
)
from homeserver.config.sections.appservice import AppServiceConfig
from homeserver.config.sections.email import EmailConfig
from homeserver.config.sections.extras import (  # noqa: F401 - re-exported
    ServerNoticesConfig,
    VoipConfig,
)
from homeserver.config.sections.federation import (  # noqa: F401 - re-exported
    DEFAULT_IP_RANGE_BLACKLIST,
    FederationConfig,
    OldSigningKey,
    TrustedKeyServer,
)
from homeserver.config.sections.identity import IdentityServerConfig
from homeserver.config.sections.limits import (  # noqa: F401 - re-exported
    RateLimit,
    RateLimitConfig,
    ToDeviceConfig,
)
from homeserver.config.sections.media import MediaConfig
from homeserver.config.sections.outbound import (  # noqa: F401 - re-exported
    UrlPreviewConfig,
)
from homeserver.config.sections.plugins import (  # noqa: F401 - re-exported
    PluginEntry,
    PluginsConfig,
)
from homeserver.config.sections.push import PushConfig
from homeserver.config.sections.rooms import (  # noqa: F401 - re-exported
    PresenceConfig,
    RoomDirectoryConfig,
    UserDirectoryConfig,
    WebSocketConfig,
)
from homeserver.config.sections.server import (  # noqa: F401 - re-exported
    ROOM_VERSIONS,
    AdminConfig,
    DatabaseConfig,
    HttpConfig,
    ListenerConfig,
    LoggingConfig,
    MetricsConfig,
    ServerConfig,
    TlsConfig,
    WellKnownConfig,
)
from homeserver.config.sections.workers import (  # noqa: F401 - re-exported
    WorkerInstanceConfig,
    WorkersConfig,
)
from homeserver.util.structure import check


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
    user_directory: UserDirectoryConfig = option(
        factory=UserDirectoryConfig, doc="Searching for users."
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
    voip: VoipConfig = option(
        factory=VoipConfig, doc="TURN servers for voice and video calls."
    )
    url_preview: UrlPreviewConfig = option(
        factory=UrlPreviewConfig,
        doc="URL previews: fetching URLs users post, with SSRF guards.",
    )
    media: MediaConfig = option(
        factory=MediaConfig, doc="The content repository: uploads and downloads."
    )
    server_notices: ServerNoticesConfig = option(
        factory=ServerNoticesConfig,
        doc="Messages from the server to its users, in a room of their own.",
    )
    appservice: AppServiceConfig = option(
        factory=AppServiceConfig,
        doc="Application services: out-of-process bridges and bots.",
    )
    email: EmailConfig = option(
        factory=EmailConfig,
        doc="Sending mail over SMTP: email notifications (docs/push.md).",
    )
    plugins: PluginsConfig = option(
        factory=PluginsConfig,
        doc="In-process plugins (pluggy): bots, content filters, login and "
        "media storage back ends (docs/plugins.md).",
    )
    push: PushConfig = option(
        factory=PushConfig,
        doc="Push notifications: deliveries to push gateways (docs/push.md).",
    )
    identity_server: IdentityServerConfig = option(
        factory=IdentityServerConfig,
        doc="Requests to identity servers: invites by email, binding users' addresses "
        "(docs/admin-guide.md).",
    )
    workers: WorkersConfig = option(
        factory=WorkersConfig,
        doc="Worker processes replicating over Redis (docs/scaling.md); "
        "none by default: one process, no Redis.",
    )

    def __attrs_post_init__(self) -> None:
        check(len(self.listeners) > 0, "listeners", "at least one listener is required")
        ports = [listener.port for listener in self.listeners]
        check(len(ports) == len(set(ports)), "listeners", "two listeners share a port")
        check(
            not set(ports) & {w.port for w in self.workers.instances},
            "workers.instances",
            "a worker's port is also a listener's port",
        )
        check(
            not self.workers.enabled
            or self.workers.main_port is not None
            or any(not lst.tls for lst in self.listeners),
            "workers.main_port",
            "workers reach main over plain HTTP on 127.0.0.1: add a listener "
            "without tls or set main_port",
        )
        check(
            not any(lst.tls for lst in self.listeners)
            or bool(self.tls.certificate_path and self.tls.private_key_path),
            "tls",
            "a listener has tls: true, so certificate_path and private_key_path "
            "are required",
        )

        check(
            self.registration.email == "disabled"
            or self.email.enable_threepid_validation,
            "registration.email",
            "needs email.enable_threepid_validation",
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
