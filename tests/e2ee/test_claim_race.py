"""Racing /keys/claim: each one-time key is handed out exactly once.

Several threads claim from one device's keys at once, each through its own
database connection (real concurrent transactions on PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from homeserver.storage.database import Database, inline_runner
from homeserver.storage.engines import Engine
from homeserver.storage.stores.e2e_keys import E2eKeyStore, OneTimeKey

KEYS = 60
THREADS = 4
WANTED = [("@alice:test", "DEV", "signed_curve25519")]


def run(coro: Any) -> Any:
    """Run a coroutine whose database work is inline (this thread)."""
    result: list[Any] = []
    d = defer.Deferred.fromCoroutine(coro)
    d.addBoth(result.append)
    if isinstance(result[0], Exception):
        raise result[0]
    return result[0]


def test_racing_claims_never_share_a_key(make_engine: Callable[[], Engine]) -> None:
    db = Database(make_engine(), inline_runner)
    store = E2eKeyStore(db)
    keys = [
        OneTimeKey("signed_curve25519", f"K{i:03}", {"key": f"k{i}"})
        for i in range(KEYS)
    ]
    fallback = [OneTimeKey("signed_curve25519", "FB", {"key": "fb"})]
    run(store.upload("@alice:test", "DEV", None, keys, fallback))
    got: list[list[str]] = [[] for _ in range(THREADS)]
    start = threading.Barrier(THREADS)

    def claimer(mine: list[str]) -> None:
        start.wait()
        while True:
            (claimed,) = run(store.claim(WANTED))
            if claimed.key_id == "FB":
                return
            mine.append(claimed.key_id)

    threads = [threading.Thread(target=claimer, args=(g,)) for g in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    db.close()
    handed_out = [k for mine in got for k in mine]
    assert sorted(handed_out) == sorted(k.key_id for k in keys)
    assert len(set(handed_out)) == KEYS
