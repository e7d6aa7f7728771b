"""The shared test kit: an in-process server and one client vocabulary.

- ``TestServer`` (``server`` fixture; ``make_server(overrides)``; in ``server.py``): a real
  HomeServer on a fake reactor, driven over real HTTP parsing.
  ``server.request(method, path, body, token)``, ``get_success(awaitable)``,
  ``advance(seconds)``.
- ``alice = server.user("alice")`` registers and logs in; ``server.login("alice")``
  is another device. A ``User`` has ``user_id``, ``token`` and, path first then
  body (paths not starting ``/_`` are under ``/_matrix/client/v3``):
  ``get(path, **query)``, ``put(path, body)``, ``post(path, body)``,
  ``delete(path)`` -> the response; ``expect=200`` asserts the status.
- Domain calls assert success and return what is wanted:
  ``create_room(**body) -> room_id``, ``send(room_id, text) -> event_id``,
  ``sync(since=None, **params) -> body``, ``state(room_id, type, key) -> content``,
  ``timeline(room_id) -> events``, ``join``/``leave``/``invite``;
  ``on(other_server)`` is the same device on a restarted server. Those returning responses
  (``send_event``, ``put_state``, ``membership``, ``join_via``, ``messages``,
  ``event``) take ``expect=`` like the verbs.
- ``Room(id, alice, bob, carol=None, events=[])``: a room fixture's users.
- ``bodies(events)``, ``event_types(events)``, ``timeline(sync_body, room_id)``;
  ``CLIENT``, ``q(segment)`` for paths.
"""

from tests.support.client import User, check
from tests.support.events import bodies, event_types, timeline
from tests.support.room import Room
from tests.support.server import FakeResponse, TestServer
from tests.support.urls import CLIENT, V1, client_path, q, query_string

__all__ = [
    "CLIENT",
    "V1",
    "FakeResponse",
    "Room",
    "TestServer",
    "User",
    "bodies",
    "check",
    "client_path",
    "event_types",
    "q",
    "query_string",
    "timeline",
]
