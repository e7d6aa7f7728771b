"""One stuck destination never delays the others: with a third server frozen
(it accepts connections but never answers), Synapse still gets every message
promptly, and the frozen server catches up once it thaws."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.chatly import Chatly
from tests.interop.client import Client, register
from tests.interop.rooms import bodies, is_message, messages, room_joined_across
from tests.ports import free_port

PROMPT = 20.0


@pytest.fixture
def third(tmp_path: Path) -> Iterator[Chatly]:
    """A second Chatly, for the duration of one test."""
    server = Chatly(tmp_path / "third", free_port(), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _pid(server: Chatly) -> int:
    return int((server.data / "homeserver.pid").read_text().split()[0])


def test_a_frozen_server_does_not_delay_synapse(
    chatly: Chatly, third: Chatly, alice: Client, bob: Client
) -> None:
    carol = register(third.client_url, third.shared_secret, "carol")
    room_id = room_joined_across(alice, chatly.server_name, bob)
    assert carol.join(room_id, via=[chatly.server_name]) == room_id
    alice.wait_for_membership(room_id, carol.user_id, "join")
    bob.wait_for_membership(room_id, carol.user_id, "join")

    pid = _pid(third)
    os.kill(pid, signal.SIGSTOP)
    try:
        sent = [f"while carol's server is frozen {i}" for i in range(10)]
        started = time.monotonic()
        for body in sent:
            alice.send(room_id, body)
        bob.wait_for_event(room_id, is_message(sent[-1]), "the last message", PROMPT)
        assert time.monotonic() - started < PROMPT
    finally:
        os.kill(pid, signal.SIGCONT)
    assert [b for b in bodies(messages(bob, room_id)) if b in sent] == sent
    # Thawed, the third server gets everything it missed, in order.
    carol.wait_for_event(room_id, is_message(sent[-1]), "the last message", 120)
    assert [b for b in bodies(messages(carol, room_id)) if b in sent] == sent
