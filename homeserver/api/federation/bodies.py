"""Bodies of the federation API whose shape is ours to check.

A PDU inside a body (``send_join``'s event, an invite's event, a
transaction's PDUs) stays a JSON object: the event pipeline checks it against
its room version's format. Spec: server-server API, "Retrieving events"
(``get_missing_events``), "Querying Keys Through Another Server", "Inviting
to a room" (invites-v2.yaml).
"""

from __future__ import annotations

from homeserver.api.http.body import Int, JsonObject, RequestBody, Str


class GetMissingEventsBody(RequestBody):
    """POST /_matrix/federation/v1/get_missing_events/{roomId}."""

    earliest_events: list[Str]
    latest_events: list[Str]
    limit: Int = 10
    min_depth: Int = 0


class KeyCriteria(RequestBody):
    """What a notary query asks of one key."""

    minimum_valid_until_ts: Int | None = None


class KeyQueryBody(RequestBody):
    """POST /_matrix/key/v2/query: server name -> key ID -> criteria."""

    server_keys: dict[Str, dict[Str, KeyCriteria | None]]

    def criteria(self) -> dict[str, dict[str, int | None]]:
        """Server name -> key ID -> minimum_valid_until_ts (None: now)."""
        return {
            server: {
                key_id: query.minimum_valid_until_ts if query else None
                for key_id, query in keys.items()
            }
            for server, keys in self.server_keys.items()
        }


class InviteBody(RequestBody):
    """PUT /_matrix/federation/v2/invite/{roomId}/{eventId}."""

    room_version: Str
    event: JsonObject
    invite_room_state: list[JsonObject] | None = None


class UserKeysQueryBody(RequestBody):
    """POST /_matrix/federation/v1/user/keys/query: user ID -> device IDs."""

    device_keys: dict[Str, list[Str]]


class UserKeysClaimBody(RequestBody):
    """POST /_matrix/federation/v1/user/keys/claim: user -> device -> algorithm."""

    one_time_keys: dict[Str, dict[Str, Str]]
