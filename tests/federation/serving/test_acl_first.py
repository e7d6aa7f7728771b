"""The server ACL is checked before anything else of a room-scoped request.

A server the room's ``m.room.server_acl`` denies gets 403 M_FORBIDDEN from
every room-scoped federation endpoint, whatever else is wrong with its
request, so it learns nothing (an unknown user, an unknown event, a missing
parameter) from how the request would otherwise have been answered. A server
the ACL allows gets the ordinary answers to the same requests: the control.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.federation.pair import Federation, q
from tests.support.server import FakeResponse, TestServer

FED = "/_matrix/federation"


def _requests(room_id: str) -> list[tuple[str, str, Any]]:
    """Room-scoped requests that are each wrong in some other way too."""
    room = q(room_id)
    nobody = q("@nobody:b.test")
    event = q("$unknown")
    return [
        ("PUT", f"{FED}/v2/invite/{room}/{event}", {"room_version": "10"}),
        ("PUT", f"{FED}/v1/invite/{room}/{event}", {"nonsense": True}),
        ("POST", f"{FED}/v1/get_missing_events/{room}", {"limit": "ten"}),
        ("GET", f"{FED}/v1/backfill/{room}?limit=5", None),
        ("GET", f"{FED}/v1/state/{room}", None),
        ("GET", f"{FED}/v1/state_ids/{room}?event_id={event}", None),
        ("GET", f"{FED}/v1/event_auth/{room}/{event}", None),
        ("GET", f"{FED}/v1/make_join/{room}/{nobody}?ver=10", None),
        ("GET", f"{FED}/v1/make_leave/{room}/{nobody}", None),
        ("GET", f"{FED}/v1/make_knock/{room}/{nobody}?ver=10", None),
        ("PUT", f"{FED}/v2/send_join/{room}/{event}", {"type": "m.room.member"}),
        ("PUT", f"{FED}/v1/send_join/{room}/{event}", {}),
        ("PUT", f"{FED}/v2/send_leave/{room}/{event}", {}),
        ("PUT", f"{FED}/v1/send_leave/{room}/{event}", {}),
        ("PUT", f"{FED}/v1/send_knock/{room}/{event}", {}),
        ("GET", f"{FED}/v1/hierarchy/{room}?suggested_only=maybe", None),
    ]


def _ask(
    fed: Federation, origin: TestServer, dest: TestServer, request: Any
) -> FakeResponse:
    method, uri, body = request
    return fed.signed_request(origin, dest, method, uri, body)


def test_a_denied_server_gets_403_before_its_request_is_validated(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    denied, home, allowed = (
        fed.add_server(name) for name in ("evil.test", "b.test", "c.test")
    )
    bob = home.user("bob")
    room_id = bob.create_room(preset="public_chat")
    bob.put_state(
        room_id,
        "m.room.server_acl",
        {"allow": ["*"], "deny": ["evil.test"], "allow_ip_literals": True},
        expect=200,
    )
    for request in _requests(room_id):
        control = _ask(fed, allowed, home, request)
        assert control.code != 200, (request, control.json)
        refused = _ask(fed, denied, home, request)
        assert (refused.code, refused.json["errcode"]) == (403, "M_FORBIDDEN"), (
            request,
            refused.code,
            refused.json,
        )
    # The control answers tell a lot: a missing or bad parameter, an
    # unknown user or event.
    invite = _ask(fed, allowed, home, _requests(room_id)[0])
    assert invite.code in (400, 404), invite.json
    missing = _ask(fed, allowed, home, _requests(room_id)[2])
    assert missing.code == 400, missing.json
