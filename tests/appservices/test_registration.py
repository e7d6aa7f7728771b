"""The registration model: parsing registration files and checking a set of
them against each other (spec v1.19, Application Service API, Registration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from homeserver.services.appservices.clash import overlaps
from homeserver.services.appservices.registration import (
    RegistrationError,
    load_registration_file,
    parse_registration,
)
from homeserver.services.appservices.registry import (
    AppServiceRegistry,
    load_registrations,
)

SPEC_EXAMPLE = """
id: "IRC Bridge"
url: "http://127.0.0.1:1234"
as_token: "30c05ae90a248a4188e620216fa72e349803310ec83e2a77b34fe90be6081f46"
hs_token: "312df522183efd404ec1cd22d2ffa4bbc76a8c1ccf541dd692eef281356bb74e"
sender_localpart: "_irc_bot"
namespaces:
  users:
    - exclusive: true
      regex: "@_irc_bridge_.*"
  aliases:
    - exclusive: false
      regex: "#_irc_bridge_.*"
  rooms: []
"""


def reg(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "a",
        "url": None,
        "as_token": "ast-a",
        "hs_token": "hst-a",
        "sender_localpart": "a_bot",
        "namespaces": {"users": [{"exclusive": True, "regex": "@a_.*"}]},
    }
    data.update(over)
    return data


def test_spec_example_parses(tmp_path: Path) -> None:
    path = tmp_path / "irc.yaml"
    path.write_text(SPEC_EXAMPLE)
    r = load_registration_file(path, "example.org")
    assert r.id == "IRC Bridge"
    assert r.sender == "@_irc_bot:example.org"
    assert r.rate_limited is True and r.receive_ephemeral is False
    assert r.is_interested_in_user("@_irc_bridge_alice:example.org")
    assert r.is_exclusive_user("@_irc_bridge_alice:example.org")
    assert r.is_interested_in_user("@_irc_bot:example.org")
    assert not r.is_interested_in_user("@alice:example.org")
    assert r.is_interested_in_alias("#_irc_bridge_x:example.org")
    assert not r.is_exclusive_alias("#_irc_bridge_x:example.org")
    assert not r.is_interested_in_room("!x:example.org")


@pytest.mark.parametrize(
    "key", ["receive_ephemeral", "push_ephemeral", "de.sorunome.msc2409.push_ephemeral"]
)
def test_ephemeral_flag_names(key: str) -> None:
    assert parse_registration(reg(**{key: True}), "test").receive_ephemeral


def test_flags() -> None:
    r = parse_registration(
        reg(
            rate_limited=False,
            protocols=["irc"],
            **{"org.matrix.msc3202": True, "device_masquerading": True},
        ),
        "test",
    )
    assert (r.rate_limited, r.protocols, r.msc3202, r.device_masquerading) == (
        False,
        ("irc",),
        True,
        True,
    )


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"id": None}, "id: required"),
        ({"as_token": 5}, "as_token: required"),
        ({"url": "ftp://x"}, "url:"),
        ({"sender_localpart": "Bad Name"}, "sender_localpart"),
        (
            {"namespaces": {"users": [{"regex": "(", "exclusive": True}]}},
            "invalid regex",
        ),
        ({"namespaces": {"users": [{"exclusive": True}]}}, "users[0].regex"),
        ({"namespaces": {"people": []}}, "unknown kind"),
        ({"rate_limited": "no"}, "rate_limited"),
        ({"protocols": "irc"}, "protocols"),
    ],
)
def test_invalid_registrations(over: dict[str, Any], needle: str) -> None:
    with pytest.raises(RegistrationError, match="x.yaml") as err:
        parse_registration(reg(**over), "test", source="x.yaml")
    assert needle in str(err.value)


def write(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    import yaml

    (tmp_path / name).write_text(yaml.safe_dump(data))
    return name


def test_duplicates_are_refused_naming_both_files(tmp_path: Path) -> None:
    one = write(tmp_path, "one.yaml", reg())
    two = write(
        tmp_path,
        "two.yaml",
        reg(
            as_token="other", hs_token="other", sender_localpart="b_bot", namespaces={}
        ),
    )
    with pytest.raises(RegistrationError) as err:
        load_registrations([one, two], "test", tmp_path)
    assert "one.yaml" in str(err.value) and "two.yaml" in str(err.value)
    assert "same id" in str(err.value)
    three = write(
        tmp_path,
        "three.yaml",
        reg(id="c", sender_localpart="c_bot", hs_token="c", namespaces={}),
    )
    with pytest.raises(RegistrationError, match="same as_token"):
        load_registrations([one, three], "test", tmp_path)


def test_exclusive_clash_is_refused(tmp_path: Path) -> None:
    one = write(tmp_path, "one.yaml", reg())
    two = write(
        tmp_path,
        "two.yaml",
        reg(
            id="b",
            as_token="b",
            hs_token="b",
            sender_localpart="b_bot",
            namespaces={"users": [{"exclusive": True, "regex": "@a_bob:.*"}]},
        ),
    )
    with pytest.raises(RegistrationError) as err:
        load_registrations([one, two], "test", tmp_path)
    text = str(err.value)
    assert "clash" in text and "one.yaml" in text and "two.yaml" in text


def test_non_exclusive_overlap_is_fine(tmp_path: Path) -> None:
    one = write(tmp_path, "one.yaml", reg())
    two = write(
        tmp_path,
        "two.yaml",
        reg(
            id="b",
            as_token="b",
            hs_token="b",
            sender_localpart="b_bot",
            namespaces={"users": [{"exclusive": False, "regex": "@.*"}]},
        ),
    )
    registry = AppServiceRegistry(load_registrations([one, two], "test", tmp_path))
    assert registry.by_token("b").id == "b"  # type: ignore[union-attr]
    assert registry.by_id("a").as_token == "ast-a"  # type: ignore[union-attr]
    assert registry.exclusive_owner_of_user("@a_x:test").id == "a"  # type: ignore[union-attr]
    assert registry.exclusive_owner_of_user("@bob:test") is None
    assert [r.id for r in registry.interested_in_user("@a_x:test")] == ["a", "b"]


def test_replace_keeps_the_old_set_on_error() -> None:
    a = parse_registration(reg(), "test", source="a.yaml")
    registry = AppServiceRegistry([a])
    with pytest.raises(RegistrationError):
        registry.replace([a, a])
    assert registry.all() == (a,)


@pytest.mark.parametrize(
    ("one", "two", "clash"),
    [
        ("@irc_.*", "@irc_bob:.*", True),
        ("@irc_.*", "@tg_.*", False),
        ("@.*", "@tg_.*", True),
        ("^@_tg_[0-9]+:ex\\.org$", "@_tg_.*", True),
        ("#(a|b)_x+", "#b_.*", True),
        ("#(a|b)_x+", "#c_.*", False),
    ],
)
def test_overlaps(one: str, two: str, clash: bool) -> None:
    assert overlaps(one, two) is clash
