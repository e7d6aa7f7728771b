"""Config section: appservice (application services, docs/appservices.md).

The address lists feed the guarded client every request to an application
service goes through (``homeserver.http_client.untrusted``,
docs/outbound-requests.md).
"""

from __future__ import annotations

import attrs

from homeserver.config.fields import option, positive
from homeserver.config.sections.federation import DEFAULT_IP_RANGE_BLACKLIST
from homeserver.config.sections.outbound import ip_ranges
from homeserver.util.structure import Duration

# Bridges usually run on the same host as the homeserver.
DEFAULT_APPSERVICE_WHITELIST = ("127.0.0.0/8", "::1/128")


@attrs.frozen(kw_only=True)
class AppServiceConfig:
    """Application services: out-of-process bridges and bots."""

    config_files: list[str] = option(
        factory=list,
        doc="The registration files (YAML) of the application services this "
        "server serves, as Synapse's app_service_config_files. Relative paths "
        "are taken from the data directory. Checked at start-up: a "
        "duplicate id, as_token or hs_token, or two registrations claiming "
        "overlapping exclusive namespaces, stops the server. "
        "'synctl appservice register FILE' adds one; a SIGHUP re-reads the "
        "list (docs/appservices.md).",
        example=["bridges/irc-registration.yaml"],
    )

    ip_range_blacklist: list[str] = option(
        factory=lambda: list(DEFAULT_IP_RANGE_BLACKLIST),
        doc="Requests to application services (transactions, queries, ping, "
        "third-party lookups) never connect to these address ranges, checked "
        "after DNS resolution; redirects are never followed. The default is "
        "federation's list; 0.0.0.0 and :: are always refused.",
        validator=ip_ranges,
    )
    ip_range_whitelist: list[str] = option(
        factory=lambda: list(DEFAULT_APPSERVICE_WHITELIST),
        doc="Ranges application services may be reached at even though "
        "ip_range_blacklist covers them. The default allows loopback, where "
        "bridges usually run; add the private network of bridges on other hosts, "
        "e.g. '10.1.2.0/24'.",
        validator=ip_ranges,
    )
    request_timeout: Duration = option(
        Duration(60_000),
        doc="How long one request to an application service may take (a "
        "transaction that takes longer is retried, with the same txnId).",
        example="60s",
        validator=positive,
    )
    max_retry_interval: Duration = option(
        Duration(300_000),
        doc="The wait between attempts to push to an application service that "
        "is down doubles up to this long.",
        example="5m",
        validator=positive,
    )
