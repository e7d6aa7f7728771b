"""A big room on one server of a ``Federation``, and a counted join into it
from another: the shared part of the big-join test and
bench/federation_join_bench.py."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import attrs

from homeserver.events.model import EventTypes
from homeserver.storage.database import Database
from tests.support.server import TestServer

CLIENT = "/_matrix/client/v3"


def make_big_room(home: TestServer, token: str, members: int) -> str:
    """A public room on ``home`` with ``members`` extra joined users
    (``@m<i>:<home>``, joined through the event-creation service, which does
    not need accounts); its ID."""
    resp = home.request(
        "POST", f"{CLIENT}/createRoom", {"preset": "public_chat"}, token
    )
    assert resp.code == 200, resp.json
    room_id = str(resp.json["room_id"])
    name = home.config.server.server_name
    for i in range(members):
        user = f"@m{i}:{name}"
        home.get_success(
            home.hs.rooms.event_creation.send(
                room_id, user, EventTypes.MEMBER, {"membership": "join"}, user
            )
        )
    return room_id


@attrs.define
class TxnCounter:
    """Counts the transactions and statements one ``Database`` runs, by
    transaction name, while installed."""

    db: Database
    transactions: Counter[str] = attrs.Factory(Counter)
    statements: int = 0
    _original: Any = None

    def __enter__(self) -> TxnCounter:
        original = self._original = self.db.run_interaction
        counter = self

        async def counted(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
            counter.transactions[name] += 1

            def wrapped(txn: Any, *a: Any, **kw: Any) -> Any:
                execute, execute_many = txn.execute, txn.execute_many

                def count_execute(*ea: Any, **ekw: Any) -> Any:
                    counter.statements += 1
                    return execute(*ea, **ekw)

                def count_many(*ea: Any, **ekw: Any) -> Any:
                    counter.statements += 1
                    return execute_many(*ea, **ekw)

                txn.execute, txn.execute_many = count_execute, count_many
                return fn(txn, *a, **kw)

            return await original(name, wrapped, *args, **kwargs)

        self.db.run_interaction = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.run_interaction = self._original  # type: ignore[method-assign]

    @property
    def total(self) -> int:
        """Transactions run in all."""
        return sum(self.transactions.values())


@attrs.define
class JoinFigures:
    """What a join cost the joining server."""

    seconds: float
    transactions: int
    statements: int
    by_name: Counter[str]
    key_requests: int


def counted_join(
    fed: Any, guest: TestServer, token: str, room_id: str, via: str
) -> JoinFigures:
    """Join ``room_id`` from ``guest`` over the client API, via ``via``;
    the time, transactions and key requests it took."""
    sent_before = len(fed.requests)
    path = f"{CLIENT}/join/{quote(room_id, safe='')}?via={via}"
    with TxnCounter(guest.db) as counter:
        start = time.perf_counter()
        resp = guest.request("POST", path, {}, token=token)
        seconds = time.perf_counter() - start
    assert resp.code == 200, resp.json
    guest_name = guest.config.server.server_name
    key_requests = sum(
        1
        for origin, _dest, _method, uri in fed.requests[sent_before:]
        if origin == guest_name and uri.startswith("/_matrix/key/")
    )
    return JoinFigures(
        seconds,
        counter.total,
        counter.statements,
        counter.transactions,
        key_requests,
    )
