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
* a young generation of 50,000 allocations, and older ones collected less
  often. Reference counting still frees almost everything at once; the
  collector only finds cycles, and a cycle waits a little longer.
"""

from __future__ import annotations

import gc

# (young generation, middle, old): see the module docstring.
THRESHOLDS = (50_000, 20, 10)


def tune_gc_after_start() -> None:
    """Collect once, freeze what start-up built, and raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
