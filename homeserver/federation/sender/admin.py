"""Admin view of the outbound queues (Synapse's federation destinations admin
API): each destination's backoff and backlog, and resetting a backoff."""

from __future__ import annotations

from homeserver.errors import NotFound
from homeserver.federation.sender.sender import FederationSender
from homeserver.storage.stores.federation_outbox import DestinationInfo
from homeserver.types import JsonDict

MAX_LIMIT = 1000


def _json(info: DestinationInfo) -> JsonDict:
    return {
        "destination": info.destination,
        "retry_last_ts": info.backoff.retry_last_ts,
        "retry_interval": info.backoff.retry_interval,
        "failure_ts": info.backoff.failure_ts,
        "last_successful_stream_ordering": info.last_successful_stream_ordering,
        "pending_pdus": info.pending_pdus,
        "pending_edus": info.pending_edus,
    }


class DestinationAdmin:
    """Lists destinations and resets their backoff.

    Args:
        sender: the federation sender (its store and queues).
    """

    def __init__(self, sender: FederationSender) -> None:
        self.sender = sender

    async def list_destinations(self, offset: int, limit: int) -> JsonDict:
        """GET /_synapse/admin/v1/federation/destinations."""
        found, total = await self.sender.store.list_destinations(
            None, max(0, offset), min(max(1, limit), MAX_LIMIT)
        )
        body: JsonDict = {"destinations": [_json(d) for d in found], "total": total}
        if offset + len(found) < total:
            body["next_token"] = str(offset + len(found))
        return body

    async def get_destination(self, destination: str) -> JsonDict:
        """GET /_synapse/admin/v1/federation/destinations/{destination}."""
        found, _ = await self.sender.store.list_destinations(destination, 0, 1)
        if not found:
            raise NotFound("Unknown destination")
        return _json(found[0])

    async def destination_rooms(
        self, destination: str, offset: int, limit: int, backwards: bool
    ) -> JsonDict:
        """GET .../destinations/{destination}/rooms: the rooms shared with
        it, by room ID, and the stream position last sent to it in each."""
        await self.get_destination(destination)
        found, total = await self.sender.store.list_destination_rooms(
            destination, max(0, offset), min(max(1, limit), MAX_LIMIT), backwards
        )
        body: JsonDict = {
            "rooms": [{"room_id": r, "stream_ordering": s} for r, s in found],
            "total": total,
        }
        if offset + len(found) < total:
            body["next_token"] = str(offset + len(found))
        return body

    async def reset_connection(self, destination: str) -> JsonDict:
        """POST .../destinations/{destination}/reset_connection: forget the
        backoff and try to send now."""
        await self.get_destination(destination)
        self.sender.reset_backoff(destination)
        return {}
