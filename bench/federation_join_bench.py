#!/usr/bin/env python3
"""Federation join benchmark: how long joining a big remote room takes.

Two in-process servers (the test suite's loopback federation harness,
tests/federation/pair.py: real HTTP requests, real X-Matrix signatures, real
key fetches, on one fake reactor) with SQLite databases in a temporary
directory. b.test creates a public room with ``--members`` joined users; a user
of a.test then joins it over the client API (make_join, send_join, and storing
the room's state and auth chain). Prints the time the join took on a.test and
the database transactions, statements and key requests it used.

    python bench/federation_join_bench.py [--members 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from homeserver.storage.engines import SqliteEngine  # noqa: E402
from tests.federation.big_room import counted_join, make_big_room  # noqa: E402
from tests.federation.pair import FederationPair  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--top", type=int, default=8, help="transaction names shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatly-fedjoin-") as tmp:
        data = Path(tmp)
        counter = iter(range(1_000_000))

        def make_engine() -> SqliteEngine:
            return SqliteEngine(str(data / f"hs-{next(counter)}.db"))

        pair = FederationPair(make_engine, data)
        try:
            _, bob_token = pair.b.register("bob")
            _, alice_token = pair.a.register("alice")
            start = time.perf_counter()
            room_id = make_big_room(pair.b, bob_token, args.members)
            print(
                f"built a {args.members + 1}-member room on b.test"
                f" in {time.perf_counter() - start:.1f} s",
                file=sys.stderr,
            )
            figures = counted_join(pair, pair.a, alice_token, room_id, "b.test")
        finally:
            pair.close()
    print(f"members in the room:      {args.members + 1}")
    print(f"join took:                {figures.seconds:.2f} s")
    print(f"database transactions:    {figures.transactions}")
    print(f"database statements:      {figures.statements}")
    print(f"key requests sent:        {figures.key_requests}")
    print("busiest transactions:")
    for name, count in figures.by_name.most_common(args.top):
        print(f"  {count:6d}  {name}")


if __name__ == "__main__":
    main()
