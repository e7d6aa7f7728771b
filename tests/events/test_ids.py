"""The identifier module: one way to take IDs and server names apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeserver.errors import MatrixError
from homeserver.events.ids import (
    InvalidId,
    create_event_id_of_room,
    domain_of,
    domains_of,
    has_domain,
    is_valid_server_name,
    is_valid_user_id,
    localpart_of,
    room_id_of_create_event,
    split_id,
    split_server_name,
    strip_port,
    try_domain_of,
)
from homeserver.types import RoomAlias, UserID

# (identifier, localpart, domain): the domain starts after the FIRST colon.
WELL_FORMED = [
    ("@alice:example.org", "alice", "example.org"),
    ("@alice:example.org:8448", "alice", "example.org:8448"),
    ("!room:[::1]:8448", "room", "[::1]:8448"),
    ("!room:[::1]", "room", "[::1]"),
    ("@bob:[2001:db8::1]:443", "bob", "[2001:db8::1]:443"),
    ("$ev:1.2.3.4:80", "ev", "1.2.3.4:80"),
    ("#alias:example.org", "alias", "example.org"),
    ("@:example.org", "", "example.org"),  # historical: the empty localpart
    ("@ünï:example.org", "ünï", "example.org"),
]
# No domain: a v3+ event ID, a v12 room ID, a missing colon, an empty domain.
NO_DOMAIN = [
    "$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg",  # v4+ event ID
    "$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk",  # v3 event ID
    "!4GvZn6j7jMVFrRJ7-wV7yh_N6U4bQmTsA5-Nd6p1cXI",  # v12 room ID
    "@alice",
    "@alice:",
    "@",
    "",
    ":",
]


@pytest.mark.parametrize(("identifier", "localpart", "domain"), WELL_FORMED)
def test_well_formed_ids_split_at_the_first_colon(
    identifier: str, localpart: str, domain: str
) -> None:
    assert split_id(identifier) == (localpart, domain)
    assert split_id(identifier, identifier[0]) == (localpart, domain)
    assert domain_of(identifier) == domain
    assert try_domain_of(identifier) == domain
    assert localpart_of(identifier) == localpart
    assert has_domain(identifier, domain)
    assert not has_domain(identifier, "other.example")


@pytest.mark.parametrize("identifier", NO_DOMAIN)
def test_ids_without_a_domain(identifier: str) -> None:
    with pytest.raises(InvalidId):
        domain_of(identifier)
    with pytest.raises(InvalidId):
        localpart_of(identifier)
    assert try_domain_of(identifier) is None
    assert not has_domain(identifier, "")


@pytest.mark.parametrize("value", [None, 5, ["@a:b"], b"@a:b"])
def test_non_strings_have_no_domain(value: object) -> None:
    assert try_domain_of(value) is None
    with pytest.raises(InvalidId):
        domain_of(value)  # type: ignore[arg-type]


def test_invalid_id_is_a_value_error() -> None:
    # Callers written against the old ValueError contract keep working.
    assert issubclass(InvalidId, ValueError)


def test_the_sigil_is_checked_only_when_asked() -> None:
    assert split_id("!r:x", "!") == ("r", "x")
    with pytest.raises(InvalidId):
        split_id("!r:x", "@")
    assert split_id("xr:x") == ("r", "x")


def test_domains_of_skips_ids_without_one() -> None:
    ids = ["@a:one.test", "@b:two.test:8448", "@c:one.test", "@d", "@e:", None]
    assert domains_of(ids) == {"one.test", "two.test:8448"}


@given(
    localpart=st.text(
        alphabet=st.characters(blacklist_characters=":", blacklist_categories=["Cs"])
    ),
    domain=st.text(min_size=1, alphabet=st.characters(blacklist_categories=["Cs"])),
    sigil=st.sampled_from("@!$#"),
)
def test_split_inverts_joining(localpart: str, domain: str, sigil: str) -> None:
    identifier = f"{sigil}{localpart}:{domain}"
    assert split_id(identifier, sigil) == (localpart, domain)
    assert try_domain_of(identifier) == domain


# -- validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("@alice:example.org", True),
        ("@alice:example.org:8448", True),
        ("@alice:[::1]:8448", True),
        ("@:example.org", True),  # historical IDs may have an empty localpart
        ("@a\x00b:example.org", False),
        ("@alice", False),
        ("@alice:", False),
        ("alice:example.org", False),
        ("!room:example.org", False),
        ("@alice:exa mple.org", False),
        ("@" + "a" * 250 + ":b.org", False),  # over 255 bytes
        ("@\ud800:example.org", False),  # a lone surrogate
        (5, False),
    ],
)
def test_is_valid_user_id(value: object, valid: bool) -> None:
    assert is_valid_user_id(value) is valid


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("example.org", True),
        ("example.org:8448", True),
        ("1.2.3.4", True),
        ("[::1]", True),
        ("[2001:db8::1]:8448", True),
        ("example.org:99999", True),  # the grammar allows five digits
        ("", False),
        ("::1", False),  # an IPv6 literal needs brackets
        ("example.org:", False),
        ("example.org:123456", False),
        ("exa_mple.org", False),
    ],
)
def test_is_valid_server_name(name: str, valid: bool) -> None:
    assert is_valid_server_name(name) is valid


@pytest.mark.parametrize(
    ("name", "host", "port"),
    [
        ("example.org", "example.org", None),
        ("example.org:8448", "example.org", 8448),
        ("1.2.3.4:80", "1.2.3.4", 80),
        ("[::1]", "::1", None),
        ("[2001:db8::1]:8448", "2001:db8::1", 8448),
    ],
)
def test_split_server_name(name: str, host: str, port: int | None) -> None:
    assert split_server_name(name) == (host, port)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a b",
        "[::1",
        "[::1]x",
        "[nope]",
        "host:0",
        "host:99999",
        "host:x",
        ":80",
        "2130706433",  # a numeric last label: an IPv4 address in disguise
        "127.1",
        "a..b",
    ],
)
def test_split_server_name_rejects(name: str) -> None:
    with pytest.raises(InvalidId):
        split_server_name(name)


@pytest.mark.parametrize(
    ("name", "host"),
    [
        ("example.org:8448", "example.org"),
        ("[::1]:8448", "[::1]"),
        ("[::1]", "[::1]"),
        ("[::1", "[::1"),  # lenient: never raises
        ("1.2.3.4", "1.2.3.4"),
    ],
)
def test_strip_port(name: str, host: str) -> None:
    assert strip_port(name) == host


# -- the typed IDs of the API layer use the same split ------------------------


def test_user_id_parse_uses_the_grammar() -> None:
    parsed = UserID.parse("@alice:[::1]:8448")
    assert (parsed.localpart, parsed.domain) == ("alice", "[::1]:8448")
    for bad in ["@alice", "@alice:", "alice:x", "@", ""]:
        with pytest.raises(MatrixError):
            UserID.parse(bad)


def test_room_alias_parse_uses_the_grammar() -> None:
    parsed = RoomAlias.parse("#room:example.org:8448")
    assert (parsed.localpart, parsed.domain) == ("room", "example.org:8448")
    for bad in ["#:example.org", "#room", "#room:", "!room:x", "#\ud800:x.org"]:
        with pytest.raises(MatrixError):
            RoomAlias.parse(bad)


def test_v12_room_and_create_event_ids_map_both_ways() -> None:
    event_id = "$4GvZn6j7jMVFrRJ7-wV7yh_N6U4bQmTsA5-Nd6p1cXI"
    room_id = room_id_of_create_event(event_id)
    assert room_id == "!4GvZn6j7jMVFrRJ7-wV7yh_N6U4bQmTsA5-Nd6p1cXI"
    assert create_event_id_of_room(room_id) == event_id
    assert try_domain_of(room_id) is None
