"""Run a scenario of ``tests.websocket.scenarios`` in a fresh interpreter.

The scenarios use autobahn's asyncio client. txaio binds autobahn to one
framework per process, and the test process is bound to Twisted by the server
code it imports, so each scenario runs under ``asyncio.run`` in a spawned
child; its return value (or exception) comes back pickled.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def run_isolated(
    name: str, *args: Any, timeout: float = 120, module: str = "scenarios"
) -> Any:
    """``asyncio.run(<module>.<name>(*args))`` in a child process
    (``module`` of ``tests.websocket``)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_run, module, name, *args).result(timeout=timeout)


def _run(module: str, name: str, *args: Any) -> Any:
    scenarios = importlib.import_module(f"tests.websocket.{module}")
    return asyncio.run(getattr(scenarios, name)(*args))
