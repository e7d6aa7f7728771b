"""The cyclic garbage collector, tuned for a server with many requests in
flight.

Python's default thresholds (700, 10, 10) run a young-generation collection
every 700 net allocations, and each collection walks every object of its
generations. With hundreds of long-polls or WebSocket sync streams waiting
(each a coroutine chain with its deferreds, request and token objects), the
collections that promote them walk them again and again: one message to a
1,000-member room cost about 0.4 ms of CPU per recipient in collections alone
(docs/performance.md, "Fan-out"). So, once the server has started:

* ``gc.freeze()``: what start-up built (modules, config, caches filled at
  start) moves to a permanent generation that no collection walks;
* a young generation of 200,000 allocations, and older ones collected less
  often. A young collection walks every young object still alive, and 1,000
  woken WebSocket streams keep some 50,000 new ones alive from one message to
  the next; with a young generation of 50,000 each message paid one such walk
  (about 50 ms, 15 % of the server's CPU for the message), now one message in
  four does. Reference counting still frees almost everything at once; the
  collector only finds cycles, and a cycle waits a little longer.
"""

from __future__ import annotations

import gc

# (young generation, middle, old): see the module docstring.
THRESHOLDS = (200_000, 20, 10)


def tune_gc_after_start() -> None:
    """Collect once, freeze what start-up built, and raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
