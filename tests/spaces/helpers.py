"""Building spaces for the hierarchy tests."""

from __future__ import annotations

from typing import Any

from tests.support import V1, User
from tests.support.server import FakeResponse


def make_space(user: User, **body: Any) -> str:
    """A public space (a room of type m.space)."""
    body.setdefault("preset", "public_chat")
    return user.create_room(creation_content={"type": "m.space"}, **body)


def add_child(
    user: User, space_id: str, child_id: str, via: list[str] | None = None, **extra: Any
) -> None:
    """An m.space.child event in the space naming ``child_id``."""
    content = {"via": via or [child_id.split(":", 1)[1]], **extra}
    user.put_state(space_id, "m.space.child", content, child_id, expect=200)


def hierarchy(
    user: User, room_id: str, expect: int | None = 200, **query: Any
) -> FakeResponse:
    """GET /_matrix/client/v1/rooms/{roomId}/hierarchy."""
    params = "&".join(
        f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in query.items()
    )
    path = f"{V1}/rooms/{room_id}/hierarchy" + (f"?{params}" if params else "")
    return user.get(path, expect=expect)


def room_ids(resp: FakeResponse) -> list[str]:
    """The room IDs of a hierarchy page, in order."""
    return [r["room_id"] for r in resp.json["rooms"]]
