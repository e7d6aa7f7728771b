"""synctl's own short session on the running server's admin API.

``synctl user`` changes accounts through the admin API, so that the server
does everything it does for an admin tool (leaving rooms on deactivation,
member events for a new display name). synctl needs no token of yours: it
writes a short-lived access token for a server admin account straight into
the database (as ``synctl threepid`` writes there), uses it, and deletes it.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs

from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.httpclient import UnreachableError, local_base_url, request_json
from homeserver.cli.inline import open_database, wait
from homeserver.cli.progress import progress_bar
from homeserver.storage.database import Database
from homeserver.storage.stores.tokens import TokenStore
from homeserver.storage.stores.user_admin import UserAdminStore, UserQuery
from homeserver.util.tokens import hash_token, new_token

# The session's device (it has no devices row) and how long it lasts at most.
DEVICE_ID = "SYNCTL"
LIFETIME_MS = 15 * 60_000


class AdminClient:
    """Calls the admin API with synctl's session token."""

    def __init__(self, base_url: str, token: str, server_name: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.server_name = server_name

    def user_id(self, given: str) -> str:
        """A full user ID from a localpart or a user ID."""
        return given if given.startswith("@") else f"@{given}:{self.server_name}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One admin API request; its JSON answer.

        Raises:
            CliError: the server is not answering, or answered with an error.
        """
        url = self.base_url + path
        try:
            answer = request_json(method, url, body, token=self.token, timeout=120)
        except UnreachableError as exc:
            raise CliError(
                f"Chatly is not answering ({exc.message}); is it running?"
            ) from None
        if answer.status not in (200, 201):
            raise CliError(answer.matrix_error())
        return answer.body

    def fetch_all(
        self, path: str, params: dict[str, Any], page: AdminPage, quiet: bool
    ) -> list[dict[str, Any]]:
        """Every item of a paged admin list (``from`` and the answer's next
        token), with a progress bar on stderr unless ``quiet``."""
        items: list[dict[str, Any]] = []
        start: Any = page.first
        with progress_bar(quiet=quiet, unit=page.unit) as bar:
            while start is not None:
                query = urllib.parse.urlencode({**params, "from": start})
                answer = self.call("GET", f"{path}?{query}")
                bar.total = answer[page.total]
                bar.update(len(answer[page.items]))
                items += answer[page.items]
                start = answer.get(page.next)
        return items


@attrs.frozen
class AdminPage:
    """How one paged admin list names its parts."""

    unit: str
    items: str
    total: str
    next: str
    first: int | str = 0


def user_path(prefix: str, user_id: str, suffix: str = "") -> str:
    """``prefix/<user ID, quoted>suffix``."""
    return f"{prefix}/{urllib.parse.quote(user_id, safe='@:')}{suffix}"


def _acting_admin(db: Database, wanted: str | None) -> str:
    store = UserAdminStore(db)
    if wanted is not None:
        user = wait(store.get_user(wanted))
        if user is None or not user.admin or user.deactivated:
            raise CliError(f"{wanted} is not an active server admin")
        return wanted
    admins, _ = wait(store.list_users(UserQuery(admins=True, limit=1)))
    if not admins:
        raise CliError(
            "there is no server admin account to act as; create one with "
            "synctl register-user NAME PASSWORD --admin"
        )
    return admins[0].user_id


@contextmanager
def admin_session(data_dir: DataDir, acting_as: str | None) -> Iterator[AdminClient]:
    """A client of the running server's admin API, acting as ``acting_as``
    (a localpart or user ID) or else the first server admin by user ID."""
    config = data_dir.load_config()
    db = open_database(data_dir)
    try:
        if acting_as is not None and not acting_as.startswith("@"):
            acting_as = f"@{acting_as}:{config.server.server_name}"
        admin = _acting_admin(db, acting_as)
        token = new_token("cht")
        tokens = TokenStore(db)
        now = int(time.time() * 1000)
        wait(
            tokens.insert_access_token(
                hash_token(token), admin, DEVICE_ID, now, now + LIFETIME_MS
            )
        )
        try:
            yield AdminClient(local_base_url(config), token, config.server.server_name)
        finally:
            wait(tokens.delete_access_token(hash_token(token)))
    finally:
        db.close()
