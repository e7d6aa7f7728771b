"""The commands that need nothing but their arguments: pure functions, so
they are easy to test and to read. ``!remind`` lives in ``reminders.py``."""

from __future__ import annotations

import random
import re

from chatly_commandbot.config import CommandBotConfig

HELP = """\
Commands:
{p}help - this list
{p}ping - check that the bot is alive
{p}echo <text> - say <text> back
{p}roll [NdM] - roll N dice with M sides (default 1d6)
{p}remind <duration> <text> - remind you of <text> after <duration> \
(e.g. 90s, 10m, 1h30m, 2d)"""

_DICE = re.compile(r"(\d*)d(\d+)", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_rng = random.SystemRandom()


class CommandError(Exception):
    """A command was used wrongly; the message is the bot's answer."""


def split_command(body: str, prefix: str) -> tuple[str, str] | None:
    """``("roll", "2d6")`` for ``"!roll 2d6"``; None if ``body`` is not a
    command. The command name is lower-cased; the rest is kept as typed."""
    if not body.startswith(prefix):
        return None
    head, _, rest = body[len(prefix) :].partition(" ")
    name = head.strip().lower()
    if not name or not name.isalnum():
        return None
    return name, rest.strip()


def help_text(config: CommandBotConfig) -> str:
    """The ``!help`` answer."""
    return HELP.format(p=config.prefix)


def echo(text: str, config: CommandBotConfig) -> str:
    """The ``!echo`` answer: the text itself."""
    if not text:
        raise CommandError(f"Usage: {config.prefix}echo <text>")
    return text


def roll(spec: str, config: CommandBotConfig, rng: random.Random = _rng) -> str:
    """The ``!roll`` answer: ``"2d6: 3 + 5 = 8"``."""
    spec = spec or "1d6"
    match = _DICE.fullmatch(spec)
    if match is None:
        raise CommandError(f"Usage: {config.prefix}roll [NdM], e.g. 2d6")
    count = int(match.group(1) or 1)
    sides = int(match.group(2))
    if not 1 <= count <= config.max_dice:
        raise CommandError(f"Roll between 1 and {config.max_dice} dice.")
    if not 2 <= sides <= config.max_sides:
        raise CommandError(f"Dice have between 2 and {config.max_sides} sides.")
    rolls = [rng.randint(1, sides) for _ in range(count)]
    if count == 1:
        return f"{count}d{sides}: {rolls[0]}"
    return f"{count}d{sides}: {' + '.join(map(str, rolls))} = {sum(rolls)}"


def parse_duration(text: str) -> int:
    """Seconds in ``"1h30m"`` (units s, m, h, d, w; parts in any order).

    Raises:
        CommandError: not a duration, or zero.
    """
    text = text.lower()
    pos = 0
    total = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text or total <= 0:
        raise CommandError(
            f"Not a duration: {text!r} (use e.g. 90s, 10m, 1h30m, 2d, 1w)"
        )
    return total


def format_duration(seconds: int) -> str:
    """``5400`` as ``"1h30m"``."""
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
