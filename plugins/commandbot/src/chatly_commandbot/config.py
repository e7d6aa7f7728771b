"""The command bot's settings (``plugins.load[].config`` in the server config)."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class CommandBotConfig:
    """Settings of the command bot.

    Attributes:
        prefix: what a command starts with.
        max_dice: the most dice one ``!roll`` may throw.
        max_sides: the most sides a die may have.
        max_reminder_seconds: how far ahead ``!remind`` may reach.
        max_reminders_per_user: pending reminders one user may have.
    """

    prefix: str = "!"
    max_dice: int = 100
    max_sides: int = 1000
    max_reminder_seconds: int = 366 * 24 * 3600
    max_reminders_per_user: int = 25

    def __attrs_post_init__(self) -> None:
        if not self.prefix or any(c.isspace() for c in self.prefix):
            raise ValueError("prefix must be non-empty, without spaces")
        for name in ("max_dice", "max_sides", "max_reminder_seconds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_reminders_per_user < 0:
            raise ValueError("max_reminders_per_user must not be negative")
