"""mindroom-nio (a matrix-nio fork with an MSC4186 client) as a subprocess peer.

The package installs as the module ``nio``, which would replace matrix-nio in
the test environment, so it lives in a virtualenv of its own, cached outside
the checkout (tests/support/venvs.py: ``~/.cache/chatly-tests/mindroom-nio-
<version>/``) and created on first use. The stories it runs are in
``nio_sliding/``; each gets its settings as one JSON argument and writes one
JSON result file.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.venvs import ensure_venv

MINDROOM_NIO_VERSION = "0.40.0"
SCRIPTS = Path(__file__).resolve().parent / "nio_sliding"
# The script keeps its own deadline and names the step it was in; the process
# is killed only if it overruns that by this much.
KILL_MARGIN = 15.0

JsonDict = dict[str, Any]


def ensure_mindroom_nio(version: str = MINDROOM_NIO_VERSION, e2e: bool = False) -> Path:
    """The python of the cached virtualenv with mindroom-nio==``version``;
    with ``e2e``, another one with its ``e2e`` extra (its crypto, vodozemac),
    which turns encryption on by default.

    Raises:
        RuntimeError: the virtualenv or the install failed (with pip's output).
    """
    check = "import nio; assert hasattr(nio.AsyncClient, 'sliding_sync_forever')"
    if e2e:
        return ensure_venv(
            "mindroom-nio",
            f"{version}-e2e",
            f"mindroom-nio[e2e]=={version}",
            check + "; import nio.crypto; assert nio.crypto.ENCRYPTION_ENABLED",
        )
    return ensure_venv("mindroom-nio", version, f"mindroom-nio=={version}", check)


class NioScriptError(AssertionError):
    """The script failed: its error, the step it was in, and its output."""


def run_story(
    python: Path,
    work: Path,
    settings: JsonDict,
    timeout: float,
    script: str = "sliding_client.py",
) -> JsonDict:
    """Run ``nio_sliding/<script>`` with ``settings`` (plus its result path and
    deadline).

    Raises:
        NioScriptError: it exited non-zero, wrote no result or ran over time.
    """
    result_path = work / f"{Path(script).stem}.result.json"
    argument = {**settings, "result": str(result_path), "timeout": timeout}
    try:
        process = subprocess.run(
            [str(python), str(SCRIPTS / script), json.dumps(argument)],
            capture_output=True,
            text=True,
            timeout=timeout + KILL_MARGIN,
            stdin=subprocess.DEVNULL,
        )
        output = f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
        code: int | str = process.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = f"killed after {exc.timeout:.0f}s", "killed"
    try:
        result: JsonDict = json.loads(result_path.read_text())
    except (OSError, ValueError) as exc:
        result = {"ok": False, "error": f"no result file ({exc})"}
    if code == 0 and result.get("ok"):
        return result
    raise NioScriptError(
        f"mindroom-nio story exited {code} in step {result.get('step')!r}: "
        f"{result.get('error')}\n{result.get('trace', '')}\n--- output\n{output}"
    )
