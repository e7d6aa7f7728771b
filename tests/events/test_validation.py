"""PDU format validation per room version."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.events.validation import EventFormatError, validate_pdu
from homeserver.types import JsonDict
from tests.events.vectors import (
    REAL_V1_NAME,
    REAL_V5_CREATE,
    load_spec_example,
)

V = KNOWN_ROOM_VERSIONS

BASE: JsonDict = {
    "type": "m.room.message",
    "room_id": "!r:example.org",
    "sender": "@alice:example.org",
    "content": {"body": "hi"},
    "depth": 3,
    "origin_server_ts": 1,
    "prev_events": ["$a"],
    "auth_events": ["$b"],
    "hashes": {"sha256": "abc"},
    "signatures": {"example.org": {"ed25519:1": "sig"}},
}
V12_ROOM_ID = "!" + "A" * 43


def _mutated(change: Callable[[JsonDict], Any], base: JsonDict = BASE) -> JsonDict:
    pdu = copy.deepcopy(base)
    change(pdu)
    return pdu


def test_base_is_valid_in_v3_to_v11() -> None:
    for n in range(3, 12):
        validate_pdu(BASE, V[str(n)])


def test_real_events_are_valid() -> None:
    validate_pdu(REAL_V1_NAME, V["1"])
    validate_pdu(REAL_V1_NAME, V["2"])
    for n in range(3, 12):
        validate_pdu(REAL_V5_CREATE, V[str(n)])


@pytest.mark.parametrize(
    ("example", "versions"),
    [
        ("pdu_v1.json", ["1", "2"]),
        ("pdu_v3.json", ["3"]),
        ("pdu_v4.json", ["4", "5", "6", "7", "8", "9", "10"]),
        ("pdu_v4_join_membership.json", ["8", "9", "10", "11"]),
        ("pdu_v11.json", ["11"]),
    ],
)
def test_spec_examples_are_valid(example: str, versions: list[str]) -> None:
    pdu = load_spec_example(example)
    for version in versions:
        validate_pdu(pdu, V[version])


def test_spec_v12_example_is_valid() -> None:
    pdu = load_spec_example("pdu_v12.json")
    validate_pdu(pdu, V["12"])
    for version in ("10", "11"):  # a hash-style room ID needs a domain before v12
        with pytest.raises(EventFormatError, match="room_id"):
            validate_pdu(pdu, V[version])


@pytest.mark.parametrize(
    ("example", "version"),
    [("pdu_v1.json", "3"), ("pdu_v3.json", "1"), ("pdu_v4.json", "1")],
)
def test_spec_examples_in_the_wrong_version_are_invalid(
    example: str, version: str
) -> None:
    with pytest.raises(EventFormatError):
        validate_pdu(load_spec_example(example), V[version])


REQUIRED = [
    "sender",
    "origin_server_ts",
    "type",
    "content",
    "depth",
    "hashes",
    "signatures",
    "auth_events",
    "prev_events",
    "room_id",
]


@pytest.mark.parametrize("key", REQUIRED)
def test_missing_required_key(key: str) -> None:
    with pytest.raises(EventFormatError, match=f"missing required keys: {key}"):
        validate_pdu(_mutated(lambda p: p.pop(key)), V["10"])


def test_v1_requires_event_id() -> None:
    pdu = _mutated(
        lambda p: p.update(prev_events=[], auth_events=[], room_id="!r:example.org")
    )
    with pytest.raises(EventFormatError, match="event_id"):
        validate_pdu(pdu, V["1"])
    pdu["event_id"] = "$e:example.org"
    validate_pdu(pdu, V["1"])
    for bad in ("e:example.org", "$nodomain", 5, "$" + "e" * 250 + ":example.org"):
        pdu["event_id"] = bad
        with pytest.raises(EventFormatError, match="event_id"):
            validate_pdu(pdu, V["1"])


INVALID: list[tuple[str, Callable[[JsonDict], Any], str]] = [
    ("type-int", lambda p: p.update(type=5), "type must be a string"),
    ("type-long", lambda p: p.update(type="t" * 256), "type is longer than 255"),
    ("state_key-int", lambda p: p.update(state_key=1), "state_key must be a string"),
    ("state_key-bytes", lambda p: p.update(state_key="é" * 128), "state_key is long"),
    ("content-list", lambda p: p.update(content=[]), "content must be an object"),
    ("ts-str", lambda p: p.update(origin_server_ts="1"), "origin_server_ts"),
    ("ts-bool", lambda p: p.update(origin_server_ts=True), "origin_server_ts"),
    ("depth-str", lambda p: p.update(depth="3"), "depth must be an integer"),
    ("depth-negative", lambda p: p.update(depth=-1), "depth must be between"),
    ("sender-no-sigil", lambda p: p.update(sender="alice:x"), "sender"),
    ("sender-no-domain", lambda p: p.update(sender="@alice"), "sender"),
    ("sender-empty-domain", lambda p: p.update(sender="@alice:"), "sender"),
    ("sender-bad-domain", lambda p: p.update(sender="@a:bad host"), "sender"),
    ("sender-nul", lambda p: p.update(sender="@a\x00b:x.org"), "sender"),
    ("sender-long", lambda p: p.update(sender="@" + "a" * 250 + ":x.org"), "sender"),
    ("room_id-no-sigil", lambda p: p.update(room_id="r:x"), "room_id"),
    ("room_id-no-domain", lambda p: p.update(room_id="!r"), "room_id"),
    ("room_id-int", lambda p: p.update(room_id=1), "room_id"),
    ("hashes-empty", lambda p: p.update(hashes={}), "hashes"),
    ("hashes-list", lambda p: p.update(hashes=["x"]), "hashes"),
    ("sigs-str", lambda p: p.update(signatures={"x": "s"}), "signatures"),
    ("sigs-int", lambda p: p.update(signatures={"x": {"k": 1}}), "signatures"),
    ("unsigned-list", lambda p: p.update(unsigned=[]), "unsigned must be"),
    ("prev-not-list", lambda p: p.update(prev_events="$a"), "prev_events must be"),
    ("prev-no-sigil", lambda p: p.update(prev_events=["a"]), "prev_events must be"),
    ("prev-pairs", lambda p: p.update(prev_events=[["$a", {}]]), "prev_events"),
    ("prev-21", lambda p: p.update(prev_events=["$a"] * 21), "at most 20"),
    ("auth-11", lambda p: p.update(auth_events=["$a"] * 11), "at most 10"),
    ("redacts-int", lambda p: p.update(redacts=5), "redacts must be an event ID"),
    ("float-content", lambda p: p.update(content={"n": 1.0}), "canonical JSON"),
    ("float-unsigned", lambda p: p.update(unsigned={"age": 1.5}), "canonical JSON"),
    ("big-int", lambda p: p.update(depth=2**53), "canonical JSON"),
    ("too-big", lambda p: p.update(content={"b": "x" * 65536}), "limit is 65536"),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [(change, message) for _, change, message in INVALID],
    ids=[name for name, _, _ in INVALID],
)
def test_invalid_v10_events(change: Callable[[JsonDict], Any], message: str) -> None:
    with pytest.raises(EventFormatError, match=message):
        validate_pdu(_mutated(change), V["10"])


def test_limits_are_inclusive() -> None:
    validate_pdu(_mutated(lambda p: p.update(prev_events=["$a"] * 20)), V["10"])
    validate_pdu(_mutated(lambda p: p.update(auth_events=["$a"] * 10)), V["10"])
    validate_pdu(_mutated(lambda p: p.update(state_key="é" * 127 + "a")), V["10"])
    validate_pdu(_mutated(lambda p: p.update(depth=2**53 - 1)), V["10"])
    validate_pdu(_mutated(lambda p: p.update(depth=0)), V["10"])


def test_size_limit_counts_the_whole_canonical_event() -> None:
    pdu = copy.deepcopy(BASE)
    pdu["content"] = {"b": ""}
    overhead = len(json.dumps(pdu, separators=(",", ":"), sort_keys=True).encode())
    pdu["content"]["b"] = "x" * (65536 - overhead)
    validate_pdu(pdu, V["10"])
    pdu["content"]["b"] += "x"
    with pytest.raises(EventFormatError, match="65537 bytes"):
        validate_pdu(pdu, V["10"])


def test_lax_versions_allow_floats_and_big_depths() -> None:
    validate_pdu(_mutated(lambda p: p.update(content={"n": 50.57})), V["5"])
    validate_pdu(_mutated(lambda p: p.update(depth=2**63 - 1)), V["5"])
    with pytest.raises(EventFormatError, match="depth must be between"):
        validate_pdu(_mutated(lambda p: p.update(depth=2**63)), V["5"])
    with pytest.raises(EventFormatError, match="canonical JSON"):
        validate_pdu(_mutated(lambda p: p.update(content={"n": float("nan")})), V["5"])


def test_v1_reference_pairs() -> None:
    base = _mutated(lambda p: p.update(event_id="$e:example.org"))
    base["prev_events"] = [["$a:x", {"sha256": "h"}], ["$b:x", {}]]
    base["auth_events"] = []
    validate_pdu(base, V["1"])
    for bad in (["$a:x"], [["$a:x"]], [["$a:x", "h"]], [["a:x", {}]], [["$a", {}, 1]]):
        with pytest.raises(EventFormatError, match="pairs"):
            validate_pdu({**base, "prev_events": bad}, V["1"])


def test_redacts_moves_into_content_in_v11() -> None:
    redaction = _mutated(lambda p: p.update(type="m.room.redaction", redacts=5))
    # v11 ignores a top-level redacts, but checks the one in content.
    validate_pdu(redaction, V["11"])
    redaction["content"] = {"redacts": 5}
    with pytest.raises(EventFormatError, match="content.redacts"):
        validate_pdu(redaction, V["11"])
    redaction["content"] = {"redacts": "$target"}
    validate_pdu(redaction, V["11"])


def test_v12_room_ids() -> None:
    create = _mutated(lambda p: p.update(type="m.room.create", state_key=""))
    del create["room_id"]
    validate_pdu(create, V["12"])  # a v12 create event has no room_id
    with pytest.raises(EventFormatError, match="room_id"):
        validate_pdu(create, V["11"])

    message = _mutated(lambda p: p.update(room_id=V12_ROOM_ID))
    validate_pdu(message, V["12"])
    del message["room_id"]
    with pytest.raises(EventFormatError, match="missing required keys: room_id"):
        validate_pdu(message, V["12"])
    for bad in (
        "!r:example.org",
        "!" + "A" * 42,
        "!" + "A" * 42 + "+",
        V12_ROOM_ID + "\n",
    ):
        message["room_id"] = bad
        with pytest.raises(EventFormatError, match="room_id"):
            validate_pdu(message, V["12"])


def test_historical_user_ids_are_accepted() -> None:
    for sender in ("@Alice:example.org", "@:example.org", "@日本:example.org:8448"):
        validate_pdu({**BASE, "sender": sender}, V["10"])
    validate_pdu(_mutated(lambda p: p.update(sender="@a:[::1]:8448")), V["10"])


def test_non_object_event() -> None:
    with pytest.raises(EventFormatError, match="not a JSON object"):
        validate_pdu([], V["10"])  # type: ignore[arg-type]
