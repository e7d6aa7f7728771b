"""What the mindroom-nio stories share: settings in as one JSON argument, one
JSON result out (``{"ok": true, ...}``, or ``{"ok": false, "step", "error",
"trace"}``), the step a failure happened in.

Imported by the stories (they run as scripts, so this directory is on their
path), in mindroom-nio's virtualenv.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

_current = {"step": "start"}


def set_step(name: str) -> None:
    """The step the story is in now (a failure names it)."""
    _current["step"] = name


def current_step() -> str:
    return _current["step"]


def run(story: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> int:
    """Run ``story`` with the settings of ``argv[1]``; write its result to the
    settings' ``result`` file; the exit code."""
    settings = json.loads(sys.argv[1])
    try:
        result = asyncio.run(story(settings))
        result["ok"] = True
        code = 0
    except Exception as exc:  # noqa: BLE001 - reported to the test
        result = {
            "ok": False,
            "step": current_step(),
            "error": repr(exc),
            "trace": traceback.format_exc(),
        }
        code = 1
    with open(settings["result"], "w") as handle:
        json.dump(result, handle, indent=1)
    return code
