"""Server-side key backups through HTTP: versions, keys at the three levels,
which key of a session is kept, the errors, and that users never see each
other's backups.

Spec: client-server API, "Server-side key backups".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import FakeResponse, TestServer, User, q

ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"
AUTH_DATA = {
    "public_key": "abcdefg",
    "signatures": {"@alice:test": {"ed25519:DEV": "sig"}},
}
ROOM = "!room:test"
OTHER_ROOM = "!other:test"
SESSION = "sessionid1"


def assert_error(resp: FakeResponse, code: int, errcode: str) -> None:
    assert resp.code == code, (resp.code, resp.json)
    assert resp.json["errcode"] == errcode, resp.json


def key(
    first_message_index: int = 0,
    forwarded_count: int = 0,
    is_verified: bool = False,
    data: str = "ciphertext",
) -> dict[str, Any]:
    """One session's KeyBackupData; ``data`` tells uploads apart."""
    return {
        "first_message_index": first_message_index,
        "forwarded_count": forwarded_count,
        "is_verified": is_verified,
        "session_data": {"ephemeral": "eph", "ciphertext": data, "mac": "mac"},
    }


def keys_path(
    version: str | None,
    room_id: str | None = None,
    session_id: str | None = None,
    prefix: str = "",
) -> str:
    path = f"{prefix}/room_keys/keys"
    if room_id is not None:
        path += f"/{q(room_id)}"
        if session_id is not None:
            path += f"/{q(session_id)}"
    return path + ("" if version is None else f"?version={q(version)}")


def create_backup(user: User, auth_data: Any = None) -> str:
    body = {"algorithm": ALGORITHM, "auth_data": auth_data or AUTH_DATA}
    return str(user.post("/room_keys/version", body, expect=200).json["version"])


def put_key(user: User, version: str, body: Any, **kw: Any) -> FakeResponse:
    return user.put(keys_path(version, ROOM, SESSION), body, **kw)


def all_keys(user: User, version: str) -> Any:
    return user.get(keys_path(version), expect=200).json


def version_info(user: User, version: str | None = None) -> Any:
    path = "/room_keys/version" + ("" if version is None else f"/{version}")
    return user.get(path, expect=200).json


# -- versions ---------------------------------------------------------------


def test_no_backup_yet(alice: User) -> None:
    resp = alice.get("/room_keys/version")
    assert_error(resp, 404, "M_NOT_FOUND")
    assert resp.json["error"] == "No current backup version"
    assert_error(alice.get("/room_keys/version/1"), 404, "M_NOT_FOUND")


def test_create_and_read_versions(alice: User) -> None:
    assert create_backup(alice) == "1"
    expected = {
        "algorithm": ALGORITHM,
        "auth_data": AUTH_DATA,
        "count": 0,
        "etag": version_info(alice)["etag"],
        "version": "1",
    }
    assert isinstance(expected["etag"], str)
    assert version_info(alice) == expected
    assert version_info(alice, "1") == expected
    # A new backup becomes the current one; the old one can still be read.
    assert create_backup(alice, {"public_key": "second"}) == "2"
    assert version_info(alice)["version"] == "2"
    assert version_info(alice)["auth_data"] == {"public_key": "second"}
    assert version_info(alice, "1") == expected


def test_version_numbers_are_never_reused(alice: User) -> None:
    assert [create_backup(alice), create_backup(alice)] == ["1", "2"]
    alice.delete("/room_keys/version/2", expect=200)
    # The newest version not deleted is current again.
    assert version_info(alice)["version"] == "1"
    assert create_backup(alice) == "3"


@pytest.mark.parametrize("version", ["0", "01", "abc", "99", "-1", "1.0"])
def test_unknown_versions_are_404(alice: User, version: str) -> None:
    create_backup(alice)
    resp = alice.get(f"/room_keys/version/{q(version)}")
    assert_error(resp, 404, "M_NOT_FOUND")
    assert resp.json["error"] == "Unknown backup version"
    body = {"algorithm": ALGORITHM, "auth_data": AUTH_DATA}
    assert_error(
        alice.put(f"/room_keys/version/{q(version)}", body), 404, "M_NOT_FOUND"
    )
    assert_error(alice.delete(f"/room_keys/version/{q(version)}"), 404, "M_NOT_FOUND")


def test_update_auth_data(alice: User) -> None:
    version = create_backup(alice)
    new_auth = {"public_key": "rotated", "signatures": {}}
    body = {"algorithm": ALGORITHM, "auth_data": new_auth}
    assert alice.put(f"/room_keys/version/{version}", body, expect=200).json == {}
    assert version_info(alice)["auth_data"] == new_auth
    # The body's version may be given, and must then be the path's.
    body = {"algorithm": ALGORITHM, "auth_data": AUTH_DATA, "version": version}
    alice.put(f"/room_keys/version/{version}", body, expect=200)
    assert version_info(alice)["auth_data"] == AUTH_DATA


@pytest.mark.parametrize(
    "body",
    [
        {"algorithm": ALGORITHM, "auth_data": {"public_key": "x"}, "version": "2"},
        {"algorithm": "m.megolm_backup.v2", "auth_data": {"public_key": "x"}},
    ],
    ids=["body-version-differs", "algorithm-differs"],
)
def test_update_mismatch_is_400_and_changes_nothing(
    alice: User, body: dict[str, Any]
) -> None:
    version = create_backup(alice)
    resp = alice.put(f"/room_keys/version/{version}", body)
    assert_error(resp, 400, "M_INVALID_PARAM")
    assert version_info(alice)["auth_data"] == AUTH_DATA


def test_delete_version_deletes_its_keys(server: TestServer, alice: User) -> None:
    version = create_backup(alice)
    put_key(alice, version, key(), expect=200)
    assert alice.delete(f"/room_keys/version/{version}", expect=200).json == {}
    assert_error(alice.get("/room_keys/version"), 404, "M_NOT_FOUND")
    assert_error(alice.get(f"/room_keys/version/{version}"), 404, "M_NOT_FOUND")
    assert_error(alice.get(keys_path(version)), 404, "M_NOT_FOUND")
    assert session_rows(server, alice) == 0
    # Deleting it again succeeds (spec); a version never created is 404.
    alice.delete(f"/room_keys/version/{version}", expect=200)
    assert_error(alice.delete("/room_keys/version/7"), 404, "M_NOT_FOUND")
    # The next backup starts empty.
    new = create_backup(alice)
    assert all_keys(alice, new) == {"rooms": {}}
    assert version_info(alice)["count"] == 0


def session_rows(server: TestServer, user: User) -> int:
    row = server.get_success(
        server.db.run_interaction(
            "count",
            lambda txn: txn.query_one(
                "SELECT COUNT(*) AS n FROM key_backup_sessions WHERE user_id = ?",
                (user.user_id,),
            ),
        )
    )
    return int(row.n)


# -- keys -------------------------------------------------------------------


def test_keys_at_each_level(alice: User) -> None:
    version = create_backup(alice)
    resp = put_key(alice, version, key(data="one"), expect=200)
    assert resp.json["count"] == 1 and isinstance(resp.json["etag"], str)
    room_body = {"sessions": {"s2": key(data="two")}}
    resp = alice.put(keys_path(version, ROOM), room_body, expect=200)
    assert resp.json["count"] == 2
    rooms_body = {"rooms": {OTHER_ROOM: {"sessions": {"s3": key(data="three")}}}}
    resp = alice.put(keys_path(version), rooms_body, expect=200)
    assert resp.json["count"] == 3

    assert alice.get(keys_path(version, ROOM, SESSION), expect=200).json == key(
        data="one"
    )
    assert alice.get(keys_path(version, ROOM), expect=200).json == {
        "sessions": {SESSION: key(data="one"), "s2": key(data="two")}
    }
    assert all_keys(alice, version) == {
        "rooms": {
            ROOM: {"sessions": {SESSION: key(data="one"), "s2": key(data="two")}},
            OTHER_ROOM: {"sessions": {"s3": key(data="three")}},
        }
    }
    assert version_info(alice)["count"] == 3

    resp = alice.delete(keys_path(version, ROOM, SESSION), expect=200)
    assert resp.json["count"] == 2
    assert_error(alice.get(keys_path(version, ROOM, SESSION)), 404, "M_NOT_FOUND")
    assert alice.delete(keys_path(version, ROOM), expect=200).json["count"] == 1
    assert alice.get(keys_path(version, ROOM), expect=200).json == {"sessions": {}}
    assert alice.delete(keys_path(version), expect=200).json["count"] == 0
    assert all_keys(alice, version) == {"rooms": {}}


def test_empty_answers(alice: User) -> None:
    version = create_backup(alice)
    assert all_keys(alice, version) == {"rooms": {}}
    assert alice.get(keys_path(version, ROOM), expect=200).json == {"sessions": {}}
    resp = alice.get(keys_path(version, ROOM, SESSION))
    assert_error(resp, 404, "M_NOT_FOUND")


# (stored, uploaded, whether the uploaded key replaces the stored one)
RULES = [
    # is_verified first, whatever the other two say.
    (key(5, 0, False), key(9, 3, True), True),
    (key(9, 3, True), key(0, 0, False), False),
    # Then the lower first_message_index.
    (key(5, 0, True), key(4, 9, True), True),
    (key(5, 0, False), key(6, 0, False), False),
    # Then the lower forwarded_count.
    (key(5, 2, False), key(5, 1, False), True),
    (key(5, 2, True), key(5, 3, True), False),
    # A tie keeps the stored key.
    (key(5, 2, True), key(5, 2, True), False),
]


@pytest.mark.parametrize(
    ("stored", "uploaded", "replaces"),
    RULES,
    ids=[
        "verified-wins",
        "unverified-never-replaces-verified",
        "lower-index-wins",
        "higher-index-loses",
        "lower-forwarded-count-wins",
        "higher-forwarded-count-loses",
        "tie-keeps-stored",
    ],
)
def test_which_key_is_kept(
    alice: User, stored: dict[str, Any], uploaded: dict[str, Any], replaces: bool
) -> None:
    version = create_backup(alice)
    stored = {**stored, "session_data": {"ciphertext": "stored"}}
    uploaded = {**uploaded, "session_data": {"ciphertext": "uploaded"}}
    etag = put_key(alice, version, stored, expect=200).json["etag"]
    resp = put_key(alice, version, uploaded, expect=200)
    assert resp.json["count"] == 1
    assert (resp.json["etag"] != etag) is replaces
    kept = alice.get(keys_path(version, ROOM, SESSION), expect=200).json
    assert kept == (uploaded if replaces else stored)


def test_etag_moves_only_when_keys_change(alice: User) -> None:
    version = create_backup(alice)
    etags = [version_info(alice)["etag"]]
    etags.append(put_key(alice, version, key(3), expect=200).json["etag"])
    # The same key again changes nothing.
    assert put_key(alice, version, key(3), expect=200).json["etag"] == etags[-1]
    etags.append(put_key(alice, version, key(1), expect=200).json["etag"])
    # Deleting what is not there changes nothing either.
    resp = alice.delete(keys_path(version, OTHER_ROOM), expect=200)
    assert resp.json == {"etag": etags[-1], "count": 1}
    etags.append(alice.delete(keys_path(version), expect=200).json["etag"])
    assert len(set(etags)) == len(etags)
    assert version_info(alice)["etag"] == etags[-1]


def test_upload_to_an_old_version_is_403_with_the_current(alice: User) -> None:
    old = create_backup(alice)
    current = create_backup(alice)
    for path, body in [
        (keys_path(old, ROOM, SESSION), key()),
        (keys_path(old, ROOM), {"sessions": {SESSION: key()}}),
        (keys_path(old), {"rooms": {ROOM: {"sessions": {SESSION: key()}}}}),
    ]:
        resp = alice.put(path, body)
        assert_error(resp, 403, "M_WRONG_ROOM_KEYS_VERSION")
        assert resp.json["current_version"] == current
    assert all_keys(alice, old) == {"rooms": {}}
    # Keys of an old version can still be read and deleted.
    alice.delete(keys_path(old, ROOM), expect=200)


@pytest.mark.parametrize("version", ["1", "7", "abc", ""])
def test_keys_of_an_unknown_version_are_404(alice: User, version: str) -> None:
    assert_error(put_key(alice, version, key()), 404, "M_NOT_FOUND")
    create_backup(alice)
    if version == "1":
        alice.delete("/room_keys/version/1", expect=200)
        create_backup(alice)
    for method in ("GET", "DELETE"):
        for path in (
            keys_path(version),
            keys_path(version, ROOM),
            keys_path(version, ROOM, SESSION),
        ):
            resp = alice.request(method, path)
            assert_error(resp, 404, "M_NOT_FOUND")
            assert resp.json["error"] == "Unknown backup version"
    assert_error(put_key(alice, version, key()), 404, "M_NOT_FOUND")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("level", [0, 1, 2])
def test_version_parameter_is_required(alice: User, method: str, level: int) -> None:
    create_backup(alice)
    path = keys_path(None, *[ROOM, SESSION][:level])
    body = [{"rooms": {}}, {"sessions": {}}, key()][level]
    resp = alice.request(method, path, body if method == "PUT" else None)
    assert_error(resp, 400, "M_MISSING_PARAM")


# -- bad input --------------------------------------------------------------


def _without(name: str) -> dict[str, Any]:
    body = key()
    del body[name]
    return body


BAD_KEYS = [
    pytest.param(
        _without("first_message_index"), "M_MISSING_PARAM", id="no-first-message-index"
    ),
    pytest.param(_without("session_data"), "M_MISSING_PARAM", id="no-session-data"),
    pytest.param({**key(), "is_verified": "true"}, "M_BAD_JSON", id="verified-a-str"),
    pytest.param({**key(), "is_verified": 1}, "M_BAD_JSON", id="verified-a-number"),
    pytest.param({**key(), "first_message_index": "1"}, "M_BAD_JSON", id="index-a-str"),
    pytest.param(
        {**key(), "first_message_index": 1.5}, "M_BAD_JSON", id="index-a-float"
    ),
    pytest.param(
        {**key(), "first_message_index": -1}, "M_INVALID_PARAM", id="index-negative"
    ),
    pytest.param({**key(), "forwarded_count": 2**60}, "M_BAD_JSON", id="count-too-big"),
    pytest.param({**key(), "session_data": "b64"}, "M_BAD_JSON", id="data-a-string"),
    pytest.param({**key(), "session_data": []}, "M_BAD_JSON", id="data-a-list"),
    pytest.param({**key(), "session_data": None}, "M_BAD_JSON", id="data-null"),
]


@pytest.mark.parametrize(("body", "errcode"), BAD_KEYS)
def test_bad_key_changes_nothing(
    alice: User, body: dict[str, Any], errcode: str
) -> None:
    version = create_backup(alice)
    put_key(alice, version, key(7), expect=200)
    before = version_info(alice)
    # Alone, in a room's batch, and next to a good key in a bulk upload.
    assert_error(put_key(alice, version, body), 400, errcode)
    room_body = {"sessions": {"good": key(), SESSION: body}}
    assert_error(alice.put(keys_path(version, ROOM), room_body), 400, errcode)
    rooms_body = {
        "rooms": {
            OTHER_ROOM: {"sessions": {"good": key()}},
            ROOM: {"sessions": {SESSION: body}},
        }
    }
    assert_error(alice.put(keys_path(version), rooms_body), 400, errcode)
    assert version_info(alice) == before
    assert all_keys(alice, version) == {
        "rooms": {ROOM: {"sessions": {SESSION: key(7)}}}
    }


def _rooms(room_id: str, session_id: str = "s") -> dict[str, Any]:
    return {"rooms": {room_id: {"sessions": {session_id: key()}}}}


BAD_BATCHES = [
    pytest.param(b"{nope", "M_NOT_JSON", id="not-json"),
    pytest.param([], "M_BAD_JSON", id="a-list"),
    pytest.param({}, "M_MISSING_PARAM", id="no-rooms"),
    pytest.param({"rooms": []}, "M_BAD_JSON", id="rooms-a-list"),
    pytest.param({"rooms": {ROOM: {}}}, "M_MISSING_PARAM", id="sessions-missing"),
    pytest.param(
        {"rooms": {ROOM: {"sessions": [key()]}}}, "M_BAD_JSON", id="sessions-a-list"
    ),
    pytest.param(_rooms("room"), "M_INVALID_PARAM", id="not-a-room-id"),
    pytest.param(_rooms("!" + "r" * 255), "M_INVALID_PARAM", id="room-id-too-long"),
    pytest.param(_rooms(ROOM, ""), "M_INVALID_PARAM", id="empty-session-id"),
    pytest.param(_rooms(ROOM, "s" * 256), "M_INVALID_PARAM", id="session-id-too-long"),
    pytest.param(_rooms(ROOM, "a\x00"), "M_BAD_JSON", id="nul-in-session-id"),
]


@pytest.mark.parametrize(("body", "errcode"), BAD_BATCHES)
def test_bad_batch_changes_nothing(alice: User, body: Any, errcode: str) -> None:
    version = create_backup(alice)
    before = version_info(alice)
    # A good room first: nothing of a refused upload is stored.
    if isinstance(body, dict) and isinstance(body.get("rooms"), dict):
        body = {"rooms": {OTHER_ROOM: {"sessions": {"good": key()}}, **body["rooms"]}}
    assert_error(alice.put(keys_path(version), body), 400, errcode)
    assert version_info(alice) == before
    assert all_keys(alice, version) == {"rooms": {}}


def test_bad_room_id_in_the_path(alice: User) -> None:
    version = create_backup(alice)
    resp = alice.put(keys_path(version, "not-a-room", SESSION), key())
    assert_error(resp, 400, "M_INVALID_PARAM")
    resp = alice.put(keys_path(version, "#alias:test"), {"sessions": {"s": key()}})
    assert_error(resp, 400, "M_INVALID_PARAM")
    assert version_info(alice)["count"] == 0


def test_oversized_upload_is_413_and_changes_nothing(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"http": {"max_request_body_size": 4096}})
    alice = server.user("alice")
    version = create_backup(alice)
    body = key(data="x" * 5000)
    assert_error(put_key(alice, version, body), 413, "M_TOO_LARGE")
    assert version_info(alice)["count"] == 0


def _version_body(algorithm: Any = ALGORITHM, auth_data: Any = None) -> Any:
    return {
        "algorithm": algorithm,
        "auth_data": AUTH_DATA if auth_data is None else auth_data,
    }


BAD_VERSIONS = [
    pytest.param(b"nope", "M_NOT_JSON", id="not-json"),
    pytest.param({"auth_data": AUTH_DATA}, "M_MISSING_PARAM", id="no-algorithm"),
    pytest.param({"algorithm": ALGORITHM}, "M_MISSING_PARAM", id="no-auth-data"),
    pytest.param(_version_body(""), "M_INVALID_PARAM", id="empty-algorithm"),
    pytest.param(_version_body(1), "M_BAD_JSON", id="algorithm-a-number"),
    pytest.param(
        _version_body(auth_data="opaque"), "M_BAD_JSON", id="auth-data-a-string"
    ),
    pytest.param(_version_body(auth_data={}), "M_MISSING_PARAM", id="no-public-key"),
    pytest.param(
        _version_body(auth_data={"public_key": 1}),
        "M_BAD_JSON",
        id="public-key-a-number",
    ),
]


@pytest.mark.parametrize(("body", "errcode"), BAD_VERSIONS)
def test_bad_version_bodies(alice: User, body: Any, errcode: str) -> None:
    assert_error(alice.post("/room_keys/version", body), 400, errcode)
    assert_error(alice.get("/room_keys/version"), 404, "M_NOT_FOUND")
    version = create_backup(alice)
    assert_error(alice.put(f"/room_keys/version/{version}", body), 400, errcode)
    assert version_info(alice)["auth_data"] == AUTH_DATA


def test_other_algorithms_are_opaque(alice: User) -> None:
    body = {"algorithm": "org.example.backup", "auth_data": {"anything": [1]}}
    version = alice.post("/room_keys/version", body, expect=200).json["version"]
    info = version_info(alice, version)
    assert (info["algorithm"], info["auth_data"]) == (
        body["algorithm"],
        {"anything": [1]},
    )


# -- prefixes, auth and isolation -------------------------------------------


def test_r0_prefix(alice: User) -> None:
    r0 = "/_matrix/client/r0"
    body = {"algorithm": ALGORITHM, "auth_data": AUTH_DATA}
    version = alice.post(f"{r0}/room_keys/version", body, expect=200).json["version"]
    assert alice.get(f"{r0}/room_keys/version", expect=200).json["version"] == version
    alice.put(f"{r0}/room_keys/version/{version}", body, expect=200)
    path = keys_path(version, ROOM, SESSION, prefix=r0)
    assert alice.put(path, key(), expect=200).json["count"] == 1
    assert alice.get(path, expect=200).json == key()
    assert alice.get(keys_path(version, ROOM, prefix=r0), expect=200).json == {
        "sessions": {SESSION: key()}
    }
    alice.delete(keys_path(version, prefix=r0), expect=200)
    alice.delete(f"{r0}/room_keys/version/{version}", expect=200)


def test_a_token_is_required(server: TestServer) -> None:
    for method, path in [
        ("GET", "/_matrix/client/v3/room_keys/version"),
        ("GET", "/_matrix/client/v3/room_keys/keys?version=1"),
    ]:
        assert_error(server.request(method, path), 401, "M_MISSING_TOKEN")


def test_users_never_see_each_others_backups(alice: User, bob: User) -> None:
    version = create_backup(alice)
    put_key(alice, version, key(data="alice's"), expect=200)
    before = all_keys(alice, version)
    # Bob has no backup: alice's version names nothing of his.
    assert_error(bob.get("/room_keys/version"), 404, "M_NOT_FOUND")
    assert_error(bob.get(f"/room_keys/version/{version}"), 404, "M_NOT_FOUND")
    assert_error(bob.get(keys_path(version)), 404, "M_NOT_FOUND")
    assert_error(put_key(bob, version, key(data="bob's")), 404, "M_NOT_FOUND")
    body = {"algorithm": ALGORITHM, "auth_data": {"public_key": "bob"}}
    assert_error(bob.put(f"/room_keys/version/{version}", body), 404, "M_NOT_FOUND")
    assert_error(bob.delete(keys_path(version)), 404, "M_NOT_FOUND")
    assert_error(bob.delete(f"/room_keys/version/{version}"), 404, "M_NOT_FOUND")
    # His own backup has the same number and is his alone.
    assert create_backup(bob, {"public_key": "bob"}) == version
    assert all_keys(bob, version) == {"rooms": {}}
    put_key(bob, version, key(0, 0, True, data="bob's"), expect=200)
    bob.delete(f"/room_keys/version/{version}", expect=200)
    assert all_keys(alice, version) == before
    assert version_info(alice)["auth_data"] == AUTH_DATA


def test_deactivation_deletes_backups(server: TestServer, alice: User) -> None:
    version = create_backup(alice)
    put_key(alice, version, key(), expect=200)
    first = alice.post("/account/deactivate", {}, expect=401)
    auth = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": alice.user_id},
        "password": "password123",
        "session": first.json["session"],
    }
    alice.post("/account/deactivate", {"auth": auth}, expect=200)
    assert session_rows(server, alice) == 0
    version_rows = server.get_success(
        server.db.run_interaction(
            "count",
            lambda txn: txn.query(
                "SELECT version FROM key_backup_versions WHERE user_id = ?",
                (alice.user_id,),
            ),
        )
    )
    assert version_rows == []
