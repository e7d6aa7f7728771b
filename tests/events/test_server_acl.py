"""m.room.server_acl matching (pure)."""

from __future__ import annotations

import pytest

from homeserver.events.server_acl import server_allowed_by_acl, strip_port


@pytest.mark.parametrize(
    ("content", "server", "allowed"),
    [
        (None, "anything.example", True),
        ({}, "anything.example", False),  # no allow list: nobody
        ({"allow": ["*"]}, "a.example", True),
        ({"allow": ["*"], "deny": ["evil.example"]}, "evil.example", False),
        ({"allow": ["*"], "deny": ["evil.example"]}, "evil.example:8448", False),
        ({"allow": ["*"], "deny": ["*.evil.example"]}, "sub.evil.example", False),
        ({"allow": ["*"], "deny": ["*.evil.example"]}, "evil.example", True),
        ({"allow": ["*.good.example"]}, "x.good.example", True),
        ({"allow": ["*.good.example"]}, "good.example", False),
        ({"allow": ["?.example"]}, "a.example", True),
        ({"allow": ["?.example"]}, "ab.example", False),
        ({"allow": ["GOOD.example"]}, "good.EXAMPLE", True),
        ({"allow": ["*"]}, "1.2.3.4:8448", True),
        ({"allow": ["*"], "allow_ip_literals": False}, "1.2.3.4:8448", False),
        ({"allow": ["*"], "allow_ip_literals": False}, "[::1]:8448", False),
        ({"allow": ["*"], "allow_ip_literals": "no"}, "1.2.3.4", True),
        ({"allow": ["*"], "deny": "evil.example"}, "evil.example", True),
        ({"allow": ["a.example", 3]}, "a.example", True),
        ({"allow": ["a.example"], "deny": ["a.example"]}, "a.example", False),
        ({"allow": ["a.ex*"]}, "a.example", True),
        ({"allow": ["a.e[x]ample"]}, "a.example", False),
    ],
)
def test_acl(content: dict | None, server: str, allowed: bool) -> None:  # type: ignore[type-arg]
    assert server_allowed_by_acl(content, server) is allowed


def test_strip_port() -> None:
    assert strip_port("example.org:8448") == "example.org"
    assert strip_port("[::1]:8448") == "[::1]"
    assert strip_port("[::1]") == "[::1]"
    assert strip_port("1.2.3.4") == "1.2.3.4"
