"""Server admin endpoints at Synapse's paths: the server version, the
background jobs' status, and redacting a user's events (``docs/admin_api/version_api.md``,
``background_updates.md``). Chatly's schema changes are migrations run at
startup, so the long jobs reported here are the admin jobs (room
deletions, history purges)."""

from __future__ import annotations

from typing import Any

from homeserver import __version__
from homeserver.api.admin.room_bodies import RedactUserBody
from homeserver.api.http.auth import admin_of
from homeserver.api.http.body import RequestBody
from homeserver.api.http.request import ApiRequest
from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Auth
from homeserver.services.rooms.admin_tasks import AdminTasks
from homeserver.services.rooms.user_redaction import UserRedaction
from homeserver.types import JsonDict

ADMIN_V1 = "/_synapse/admin/v1"


class ServerVersionEndpoint:
    """GET /_synapse/admin/v1/server_version (no authentication, as Synapse)."""

    PATTERNS = [f"{ADMIN_V1}/server_version"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        return {"server_version": __version__}


class EnabledBody(RequestBody):
    """POST /_synapse/admin/v1/background_updates/enabled."""

    enabled: bool


class BackgroundEnabledEndpoint:
    """GET and POST /_synapse/admin/v1/background_updates/enabled: jobs
    always run; asking to pause them is refused."""

    PATTERNS = [f"{ADMIN_V1}/background_updates/enabled"]

    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        return {"enabled": True}

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        if not request.parse(EnabledBody).enabled:
            raise MatrixError(
                400, "Pausing background jobs is not supported", Codes.INVALID_PARAM
            )
        return {"enabled": True}


class BackgroundStatusEndpoint:
    """GET /_synapse/admin/v1/background_updates/status: the oldest running
    admin job, as Synapse shows the current update of its database."""

    PATTERNS = [f"{ADMIN_V1}/background_updates/status"]

    def __init__(self, auth: Auth, tasks: AdminTasks) -> None:
        self.auth = auth
        self.tasks = tasks

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        running = await self.tasks.store.get_unfinished()
        current: JsonDict = {}
        if running:
            task = running[0]
            now = self.tasks.clock.time_msec()
            current["main"] = {
                "name": f"{task.kind} {task.target} ({task.task_id})",
                "total_item_count": len(task.result.get("kicked_users", [])),
                "total_duration_ms": max(now - task.created_ts, 0),
                "average_items_per_ms": 0.0,
            }
        return {"enabled": True, "current_updates": current}


class RedactUserEndpoint:
    """POST /_synapse/admin/v1/user/{userId}/redact."""

    PATTERNS = [f"{ADMIN_V1}/user/{{user_id}}/redact"]

    def __init__(self, auth: Auth, redaction: UserRedaction) -> None:
        self.auth = auth
        self.redaction = redaction

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        body = request.parse(RedactUserBody)
        return await self.redaction.start(requester, user_id, body)


class RedactStatusEndpoint:
    """GET /_synapse/admin/v1/user/redact_status/{redactId}."""

    PATTERNS = [f"{ADMIN_V1}/user/redact_status/{{redact_id}}"]

    def __init__(self, auth: Auth, redaction: UserRedaction) -> None:
        self.auth = auth
        self.redaction = redaction

    async def on_GET(self, request: ApiRequest, redact_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.redaction.status(redact_id)


def server_admin_endpoints(
    auth: Auth, tasks: AdminTasks, redaction: UserRedaction
) -> list[Any]:
    """The server version, background job and user redaction endpoints."""
    return [
        ServerVersionEndpoint(),
        BackgroundEnabledEndpoint(auth),
        BackgroundStatusEndpoint(auth, tasks),
        RedactUserEndpoint(auth, redaction),
        RedactStatusEndpoint(auth, redaction),
    ]
