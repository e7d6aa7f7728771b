"""The hooks a Chatly plugin may implement (docs/plugins.md, "Hooks").

One ``HookspecMarker("chatly")``; every hook is named ``chatly_*``. A plugin
marks its implementations with ``hookimpl`` (re-exported by
``homeserver.plugins``) and may take any subset of a hook's arguments, by
name. An implementation may be a plain function or an ``async def``: the
server awaits coroutines (``homeserver/plugins/caller.py``), each
implementation in turn, in the order the plugins are listed in the config.

How several plugins combine:

- *first-result hooks* (``firstresult=True``): the plugins are asked in order
  and the first one that returns something other than None decides; the rest
  are not called.
- *notification hooks* (``chatly_on_*``, start-up, shutdown): every plugin is
  called; return values are ignored. They run in the background, after the
  change is committed, so they never delay the request that caused it.

Isolation: an implementation that raises, or that runs longer than
``plugins.hook_timeout``, is logged, counted in
``homeserver_plugin_hook_errors_total{plugin, hook, reason}`` and treated as if it had
returned None ("no opinion": every check hook fails open, and an
authentication hook that fails never lets anyone in). A synchronous
implementation cannot be interrupted: it must not block.

Routes under ``/_chatly/plugins/{name}/`` have no hook: a plugin registers
them through its ``PluginAPI`` when it is constructed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from homeserver.plugins.types import (
    Deny,
    EventDraft,
    JsonDict,
    LoginAttempt,
    PresenceUpdate,
    PushDelivery,
    RegistrationAttempt,
    RoomCreationAttempt,
)

if TYPE_CHECKING:
    from homeserver.services.media.storage import MediaStorage

PROJECT = "chatly"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = [
    "PROJECT",
    "chatly_check_event",
    "chatly_check_login",
    "chatly_check_password",
    "chatly_check_registration",
    "chatly_check_room_creation",
    "chatly_login",
    "chatly_login_types",
    "chatly_media_storage",
    "chatly_on_membership_change",
    "chatly_on_new_event",
    "chatly_on_presence_change",
    "chatly_on_profile_change",
    "chatly_push",
    "chatly_shutdown",
    "chatly_startup",
    "hookimpl",
    "hookspec",
]

# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------


@hookspec
def chatly_startup() -> None:
    """The server has started: the database is ready and the listeners are
    about to open. Every plugin is called, in order, and each is awaited
    before the next (start timers and background tasks here, through the
    ``PluginAPI``). A failure is logged and counted; the server still starts.

    Returns:
        Nothing.
    """


@hookspec
def chatly_shutdown() -> None:
    """The server is stopping (SIGTERM, SIGINT). Every plugin is called and
    awaited, in order, within ``plugins.hook_timeout`` each; flush what must
    survive a restart here.

    Returns:
        Nothing.
    """


# ---------------------------------------------------------------------------
# Events: content policy and reacting to new events
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def chatly_check_event(draft: EventDraft) -> Deny | EventDraft | None:
    """A local user sends a message or a state event (PUT /send, PUT /state),
    before it is built, signed or stored: allow it, refuse it, or rewrite it.

    Called for events local users send through the client API only. Events
    from other servers are not checked here: they are signed by their origin
    and cannot be rewritten, and the room's other servers would still accept
    them. Plugins see them in ``chatly_on_new_event`` (``local`` False) and may
    react, e.g. redact them through the ``PluginAPI``. Membership changes
    through the membership endpoints, redactions and the events of room
    creation (``chatly_check_room_creation``) are not passed here; any state
    event sent with PUT /state is.

    Args:
        draft: the event as the client sent it.

    Returns:
        None to allow it (the next plugin is asked); a ``Deny`` to refuse it
        (the client gets the ``Deny``'s Matrix error and nothing is stored); or
        ``draft.with_content(...)`` to store that content instead (no later
        plugin is asked). First result wins. Fails open: a plugin that raises
        or times out allows the event.
    """


@hookspec
def chatly_on_new_event(event: JsonDict, local: bool) -> None:
    """An event clients may see was stored: a local one (``local`` True) or
    one from another server (not outliers, rejected, soft-failed or
    backfilled events). Every plugin is called, in the background.

    Args:
        event: the event in the client format (``event_id``, ``room_id``,
            ``sender``, ``type``, ``content``, ``origin_server_ts`` and
            ``state_key`` for state events); a copy, shared by the plugins
            called for this event: do not change it.
        local: created on this server for a local user.

    Returns:
        Nothing.
    """


@hookspec
def chatly_on_membership_change(
    room_id: str, user_id: str, membership: str, event: JsonDict
) -> None:
    """``user_id``'s membership of ``room_id`` changed (join, leave, invite,
    ban, knock), after the member event was stored. Called after
    ``chatly_on_new_event`` for the same event. Every plugin is called, in the
    background.

    Args:
        room_id: the room.
        user_id: whose membership it is (the member event's state key).
        membership: the new membership.
        event: the member event, as in ``chatly_on_new_event``.

    Returns:
        Nothing.
    """


# ---------------------------------------------------------------------------
# Accounts: registration, login and password providers
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def chatly_check_registration(attempt: RegistrationAttempt) -> Deny | None:
    """Someone asks to register an account (POST /register), before any
    user-interactive authentication: on the first round of a user
    registration, and for each guest account.

    Args:
        attempt: the user name asked for and the client's address.

    Returns:
        None to let the server's own rules decide; a ``Deny`` to refuse (the
        client gets its Matrix error; nothing is created). First result wins.
        Fails open.
    """


@hookspec(firstresult=True)
def chatly_check_password(user_id: str, password: str) -> bool | None:
    """A password provider: POST /login with ``m.login.password`` (and the
    password stage of user-interactive authentication is not affected).

    Args:
        user_id: the full user ID the client named (``@alice:example.org``).
        password: the password given.

    Returns:
        True: the password is right. The user logs in, and an account is
        created (without a local password) if none exists. False: it is
        wrong; the login is refused without checking the local password.
        None: not this plugin's user; the next plugin is asked, and last the
        local password. First result wins. A plugin that raises or times out
        counts as None (its users cannot log in while it fails, and nobody is
        let in by a failure).
    """


@hookspec
def chatly_login_types() -> list[str]:  # type: ignore[empty-body]
    """Extra login types a plugin accepts in POST /login, advertised in
    GET /login (e.g. ``com.example.login.sso_token``). Called once at
    start-up; every plugin's list is used. Must be synchronous.

    Returns:
        The login types (a list, possibly empty).
    """


@hookspec(firstresult=True)
def chatly_login(attempt: LoginAttempt) -> str | Deny | None:
    """POST /login with a login type some plugin advertised through
    ``chatly_login_types``.

    Args:
        attempt: the login type, the whole body and the client's address.

    Returns:
        The full user ID to log in as (it must be a local user; an account is
        created if none exists); a ``Deny`` to refuse with its Matrix error;
        or None when it is not this plugin's type (the next plugin is asked;
        if none answers, 403 M_FORBIDDEN). First result wins. Fails closed: a
        plugin that raises or times out refuses the login.
    """


@hookspec(firstresult=True)
def chatly_check_login(user_id: str, login_type: str, client_ip: str) -> Deny | None:
    """A user has proved who they are (any login type) and is about to get a
    session: a last check (ban lists, office hours).

    Args:
        user_id: the user logging in.
        login_type: the ``type`` of the POST /login request.
        client_ip: the address of the client.

    Returns:
        None to allow; a ``Deny`` to refuse. First result wins. Fails open.
    """


# ---------------------------------------------------------------------------
# Rooms
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def chatly_check_room_creation(attempt: RoomCreationAttempt) -> Deny | None:
    """A local user asks to create a room (POST /createRoom), before anything
    is stored.

    Args:
        attempt: the creator and what was asked for.

    Returns:
        None to allow; a ``Deny`` to refuse (nothing is created). First result
        wins. Fails open.
    """


# ---------------------------------------------------------------------------
# Presence and profiles
# ---------------------------------------------------------------------------


@hookspec
def chatly_on_presence_change(update: PresenceUpdate) -> None:
    """A user's presence changed (local users, and remote users this server
    learns about), once per user per change. Every plugin is called, in the
    background.

    Args:
        update: the user's presence as it now is.

    Returns:
        Nothing.
    """


@hookspec
def chatly_on_profile_change(user_id: str, field: str, value: Any) -> None:
    """A local user set a profile field (``displayname``, ``avatar_url`` or
    a custom field) or removed it (``value`` None). Every plugin is called,
    in the background.

    Args:
        user_id: the user.
        field: the profile field.
        value: its new value, or None when removed.

    Returns:
        Nothing.
    """


# ---------------------------------------------------------------------------
# Push and media back ends
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def chatly_push(delivery: PushDelivery) -> bool | None:
    """Deliver one notification to one pusher: a push-gateway back end (APNs,
    FCM, UnifiedPush) in process. The spec is fixed here; the pushers of
    issue 14 ("Push") call it for each notification before their own HTTP
    delivery.

    Args:
        delivery: the pusher and the notification.

    Returns:
        True: delivered, the server does nothing more. False: refused for
        good (the pushkey is rejected and the pusher removed, as a push
        gateway's ``rejected`` list does). None: not this plugin's pusher;
        the next plugin is asked, then the server's own delivery (``http``
        pushers). First result wins. A failure counts as None.
    """


@hookspec(firstresult=True)
def chatly_media_storage(backend: str) -> MediaStorage | None:
    """The storage back end for media files, when ``media.storage.backend``
    names neither ``local`` nor ``s3``. Called once while the server is
    built, before it starts; must be synchronous.

    Args:
        backend: the configured back end name.

    Returns:
        A ``homeserver.services.media.storage.MediaStorage`` (its four async
        methods ``store``, ``fetch``, ``delete``, ``exists``; blocking I/O in
        a thread, never on the reactor) if this plugin provides ``backend``,
        else None. First result wins; if no plugin provides it, start-up
        fails.
    """
