"""A plugin distribution for the plugin host's tests: installed apart from the
server (tests/plugins/conftest.py writes it with its .dist-info into a
directory on sys.path) and found through its ``chatly.plugins`` entry point."""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.plugins import (
    Deny,
    EventDraft,
    LoginAttempt,
    PresenceUpdate,
    RegistrationAttempt,
    RoomCreationAttempt,
    hookimpl,
)
from homeserver.services.media.storage import MediaStorage


@attrs.frozen(kw_only=True)
class SampleConfig:
    """The plugin's settings."""

    banned_word: str = "spam"
    rewrite_from: str = "darn"
    rewrite_to: str = "d**n"
    refused_localpart: str = "mallory"
    directory: dict[str, str] = attrs.field(factory=dict)
    """An "LDAP" of localpart -> password."""
    magic_token: str = "open-sesame"
    media_backend: str = "memory"


class MemoryStorage(MediaStorage):
    """Media files in a dict."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def store(self, path: str, data: bytes) -> None:
        self.files[path] = data

    async def fetch(self, path: str) -> bytes | None:
        return self.files.get(path)

    async def delete(self, path: str) -> None:
        self.files.pop(path, None)

    async def exists(self, path: str) -> bool:
        return path in self.files


class SamplePlugin:
    CONFIG = SampleConfig

    def __init__(self, api: Any, config: SampleConfig) -> None:
        self.api = api
        self.config = config
        self.seen: list[tuple[dict[str, Any], bool]] = []
        self.memberships: list[tuple[str, str, str]] = []
        self.started = False
        self.stopped = False
        self.profiles: list[tuple[str, str, Any]] = []
        self.presence: list[PresenceUpdate] = []
        self.storage = MemoryStorage()

    @hookimpl
    def chatly_startup(self) -> None:
        self.started = True

    @hookimpl
    async def chatly_shutdown(self) -> None:
        self.stopped = True

    @hookimpl
    def chatly_check_room_creation(self, attempt: RoomCreationAttempt) -> Deny | None:
        if attempt.name and self.config.banned_word in attempt.name:
            return Deny(errcode="ORG_EXAMPLE_SPAM", error="No spam rooms")
        return None

    @hookimpl
    def chatly_check_login(self, user_id: str, login_type: str) -> Deny | None:
        if user_id.startswith("@banned"):
            return Deny(error="Banned from logging in")
        return None

    @hookimpl
    def chatly_on_profile_change(self, user_id: str, field: str, value: Any) -> None:
        self.profiles.append((user_id, field, value))

    @hookimpl
    def chatly_on_presence_change(self, update: PresenceUpdate) -> None:
        self.presence.append(update)

    @hookimpl
    async def chatly_check_event(self, draft: EventDraft) -> Deny | EventDraft | None:
        body = draft.content.get("body")
        if not isinstance(body, str):
            return None
        if self.config.banned_word in body:
            return Deny(errcode="ORG_EXAMPLE_SPAM", error="No spam, please")
        if self.config.rewrite_from in body:
            new = body.replace(self.config.rewrite_from, self.config.rewrite_to)
            return draft.with_content({**draft.content, "body": new})
        return None

    @hookimpl
    async def chatly_on_new_event(self, event: dict[str, Any], local: bool) -> None:
        self.seen.append((event, local))

    @hookimpl
    def chatly_on_membership_change(
        self, room_id: str, user_id: str, membership: str
    ) -> None:
        self.memberships.append((room_id, user_id, membership))

    @hookimpl
    def chatly_check_registration(self, attempt: RegistrationAttempt) -> Deny | None:
        if attempt.localpart == self.config.refused_localpart:
            return Deny(errcode="M_FORBIDDEN", error="Not you, Mallory")
        return None

    @hookimpl
    async def chatly_check_password(self, user_id: str, password: str) -> bool | None:
        localpart = user_id[1:].split(":", 1)[0]
        if localpart not in self.config.directory:
            return None
        return self.config.directory[localpart] == password

    @hookimpl
    def chatly_login_types(self) -> list[str]:
        return ["org.example.login.magic"]

    @hookimpl
    async def chatly_login(self, attempt: LoginAttempt) -> str | Deny | None:
        if attempt.body.get("magic") != self.config.magic_token:
            return Deny(error="Wrong magic")
        return f"@{attempt.body.get('user')}:test"

    @hookimpl
    def chatly_media_storage(self, backend: str) -> MediaStorage | None:
        return self.storage if backend == self.config.media_backend else None
