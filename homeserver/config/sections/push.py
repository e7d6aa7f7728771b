"""Config section: push (pushers and their deliveries, docs/push.md).

The address lists feed the guarded client every request to a push gateway
goes through (``homeserver.http_client.untrusted``,
docs/outbound-requests.md).
"""

from __future__ import annotations

import attrs

from homeserver.config.fields import option, positive
from homeserver.config.sections.federation import DEFAULT_IP_RANGE_BLACKLIST
from homeserver.config.sections.outbound import ip_ranges
from homeserver.util.structure import Duration


@attrs.frozen(kw_only=True)
class PushConfig:
    """Push notifications: the pushers' deliveries to push gateways."""

    enabled: bool = option(
        True,
        doc="Deliver notifications to pushers. Off: pushers can still be set "
        "and listed, but nothing is sent (as Synapse's start_pushers: false).",
    )
    include_content: bool = option(
        True,
        doc="Send the event's content to push gateways (unless a pusher asks "
        "for format event_id_only). Off: only IDs, sender, room and counts "
        "leave the server, for privacy (the app fetches the event).",
    )
    group_unread_count_by_room: bool = option(
        True,
        doc="The badge (counts.unread) is the number of rooms with unread "
        "notifications; off: the total of unread notifications.",
    )
    ip_range_blacklist: list[str] = option(
        factory=lambda: list(DEFAULT_IP_RANGE_BLACKLIST),
        doc="Requests to push gateways never connect to these address ranges, "
        "checked after DNS resolution; redirects are never followed. The "
        "default is federation's list; 0.0.0.0 and :: are always refused.",
        validator=ip_ranges,
    )
    ip_range_whitelist: list[str] = option(
        factory=list,
        doc="Ranges push gateways may be reached at even though "
        "ip_range_blacklist covers them, e.g. ['127.0.0.1/32'] for a Sygnal "
        "on this host. Empty by default: a gateway URL is chosen by clients.",
        validator=ip_ranges,
    )
    request_timeout: Duration = option(
        Duration(15_000),
        doc="How long one request to a push gateway may take (then it counts "
        "as failed and is retried).",
        example="15s",
        validator=positive,
    )
    retry_initial: Duration = option(
        Duration(1_000),
        doc="The wait before retrying a notification the gateway did not take "
        "(no answer, 5xx, 429); it doubles on each failure, with jitter.",
        example="1s",
        validator=positive,
    )
    retry_max: Duration = option(
        Duration(3_600_000),
        doc="The longest wait between retries.",
        example="1h",
        validator=positive,
    )
    give_up_after: Duration = option(
        Duration(86_400_000),
        doc="After failing this long, the notification being retried is "
        "skipped and the next one tried (Synapse gives up after a day).",
        example="1d",
        validator=positive,
    )
