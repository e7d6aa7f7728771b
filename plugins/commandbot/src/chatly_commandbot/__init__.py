"""Chatly's command bot plugin (plugins/commandbot/README.md).

Entry point ``commandbot`` in the ``chatly.plugins`` group; the plugin class
is ``CommandBot``.
"""

from chatly_commandbot.bot import CommandBot
from chatly_commandbot.config import CommandBotConfig

__all__ = ["CommandBot", "CommandBotConfig"]
