"""Running database coroutines in synctl, where no reactor runs: the database
is opened with the inline runner, so every call completes at once."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.python.failure import Failure

T = TypeVar("T")


def wait(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine whose database calls complete inline; its result."""
    d = defer.ensureDeferred(coro)
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "a database call did not complete inline"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]  # type: ignore[no-any-return]
