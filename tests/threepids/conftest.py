"""Fixtures of the third-party ID tests: the SMTP servers of the mail tests."""

from __future__ import annotations

from tests.push.mail.conftest import smtp_server

__all__ = ["smtp_server"]
