"""Config section: federation (keys, trusted key servers, outbound safety)."""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.config.fields import option, positive
from homeserver.util.structure import Duration

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
