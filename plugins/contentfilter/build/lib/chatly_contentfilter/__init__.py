"""Chatly's spam and content filter plugin (plugins/contentfilter/README.md).

Entry point ``contentfilter`` in the ``chatly.plugins`` group; the plugin
class is ``ContentFilter``.
"""

from chatly_contentfilter.config import FilterConfig, RateLimit
from chatly_contentfilter.plugin import ContentFilter
from chatly_contentfilter.policy import POLICY_EVENT_TYPE

__all__ = ["POLICY_EVENT_TYPE", "ContentFilter", "FilterConfig", "RateLimit"]
