"""Nick <-> Matrix ID conversions."""

from __future__ import annotations

import re

MAX_NICK = 30
_NICK_BAD = re.compile(r"[^A-Za-z0-9_\-\[\]\\^{}|`]")
_LOCALPART_BAD = re.compile(r"[^a-z0-9._=\-/]")


def puppet_localpart(prefix: str, nick: str) -> str:
    """``irc_<nick>``, lowercased, characters Matrix refuses as ``=xx``."""
    return prefix + _LOCALPART_BAD.sub(lambda m: f"={ord(m.group()):02x}", nick.lower())


def matrix_user_nick(user_id: str, suffix: str) -> str:
    """An IRC nick for a Matrix user: its localpart plus ``suffix``."""
    localpart = user_id[1:].split(":", 1)[0]
    nick = _NICK_BAD.sub("_", localpart)
    if not nick or nick[0].isdigit() or nick[0] == "-":
        nick = "m" + nick
    return nick[: MAX_NICK - len(suffix)] + suffix
