"""A real web client for the browser tier: Hydrogen, built from npm, in Debian's
Chromium, driven by playwright-core (tests/e2e/browser/).

Everything it needs is installed here on first use, never from the checkout:

- Chromium from Debian (``apt-get install chromium``) when /usr/bin/chromium is
  missing. Playwright's own browser download is never used.
- ``npm ci`` of tests/e2e/browser/package-lock.json into
  ``~/.cache/chatly-tests/browser-<lockfile hash>/`` (``$XDG_CACHE_HOME`` is
  honoured), so reruns and fresh clones on the same machine reuse it.

Each install runs under a file lock and writes a marker only once it has
succeeded, so concurrent runs wait for each other and a half-finished install
is redone rather than used.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.ports import free_port

BROWSER_DIR = Path(__file__).resolve().parent / "browser"
CHROMIUM = Path("/usr/bin/chromium")
APT_TIMEOUT = 900.0
NPM_TIMEOUT = 600.0
BUILD_TIMEOUT = 60.0


def cache_dir() -> Path:
    """Where installs are kept between runs (shared with the interop tier)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatly-tests"


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """Hold an exclusive lock file ``name`` in the cache directory."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _run(step: list[str], what: str, timeout: float, **kwargs: Any) -> None:
    """Run one install step; raise with its output if it fails."""
    try:
        result = subprocess.run(
            step, capture_output=True, text=True, timeout=timeout, **kwargs
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"{what}: {' '.join(step)}: {exc}") from None
    if result.returncode != 0:
        raise RuntimeError(
            f"{what}: {' '.join(step)} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


def ensure_chromium() -> Path:
    """Debian's Chromium; ``apt-get install -y chromium`` if it is missing.

    Raises:
        RuntimeError: the install failed (with apt's output).
    """
    if CHROMIUM.exists():
        return CHROMIUM
    with _locked(".chromium.lock"):
        if CHROMIUM.exists():
            return CHROMIUM
        if shutil.which("apt-get") is None:
            raise RuntimeError(f"{CHROMIUM} is missing and there is no apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        # Wait for another apt/dpkg rather than failing on its lock.
        install = [
            "apt-get",
            "-o",
            "DPkg::Lock::Timeout=300",
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
        ]
        try:
            _run(install, "installing chromium", APT_TIMEOUT, env=env)
        except RuntimeError:
            # A new machine's package lists may be missing or stale.
            update = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "update"]
            _run(update, "apt-get update", APT_TIMEOUT, env=env)
            _run(install, "installing chromium", APT_TIMEOUT, env=env)
        if not CHROMIUM.exists():
            raise RuntimeError(f"apt-get installed chromium but {CHROMIUM} is missing")
    return CHROMIUM


def ensure_node_modules() -> Path:
    """node_modules of tests/e2e/browser, installed with ``npm ci`` on first use.

    The install is keyed on the lockfile's hash, so a changed lockfile gets a
    fresh directory and the old one is simply no longer used.

    Raises:
        RuntimeError: node or npm is missing, or ``npm ci`` failed.
    """
    lockfile = BROWSER_DIR / "package-lock.json"
    key = hashlib.sha256(lockfile.read_bytes()).hexdigest()[:16]
    home = cache_dir() / f"browser-{key}"
    modules = home / "node_modules"
    marker = home / ".chatly-installed"
    if marker.exists():
        return modules
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not on PATH (install Node.js 20+)")
    with _locked(f".browser-{key}.lock"):
        if marker.exists():
            return modules
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(BROWSER_DIR / name, home / name)
        _run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            "npm ci for the browser tests",
            NPM_TIMEOUT,
            cwd=home,
        )
        marker.write_text(key + "\n")
    return modules


def build_hydrogen(modules: Path, out: Path) -> Path:
    """Bundle the Hydrogen app (tests/e2e/browser/app) into ``out``.

    Raises:
        RuntimeError: the build failed (with esbuild's output).
    """
    _run(
        ["node", str(BROWSER_DIR / "build.mjs"), "--modules", str(modules), str(out)],
        "building Hydrogen",
        BUILD_TIMEOUT,
    )
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the types Chromium insists on, and no access log."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_server(root: Path) -> Iterator[str]:
    """Serve ``root`` on a free loopback port; yields its base URL."""
    port = free_port()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class ChatScript:
    """tests/e2e/browser/hydrogen_chat.mjs running in the background.

    Its stdout and stderr go to files under ``work`` (read them with
    ``report()``), its console and network log to ``log``, and a screenshot of
    the page to ``screenshot`` if it fails.
    """

    def __init__(self, work: Path, modules: Path, chromium: Path, **args: str) -> None:
        self.work = work
        self.log = work / "browser.log"
        self.screenshot = work / "failure.png"
        self._stdout = work / "script.stdout"
        self._stderr = work / "script.stderr"
        argv = [
            "node",
            str(BROWSER_DIR / "hydrogen_chat.mjs"),
            "--modules",
            str(modules),
            "--chromium",
            str(chromium),
            "--log",
            str(self.log),
            "--screenshot",
            str(self.screenshot),
        ]
        for name, value in args.items():
            argv += [f"--{name}", value]
        with self._stdout.open("wb") as out, self._stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )

    def running(self) -> bool:
        """Whether the script has not exited yet."""
        return self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        """Its exit code; SIGTERM (it then takes its screenshot) on timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return self.stop()

    def stop(self) -> int:
        """End it (SIGTERM, so it takes its screenshot), then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        return self.proc.returncode

    def report(self, log_lines: int = 60) -> str:
        """Its output, the end of the page's log, and where the screenshot is."""
        parts = [
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in (self._stdout, self._stderr)
            if path.exists()
        ]
        if self.log.exists():
            lines = self.log.read_text(errors="replace").splitlines()[-log_lines:]
            parts.append(
                f"--- {self.log} (last {len(lines)} lines)\n" + "\n".join(lines)
            )
        if self.screenshot.exists():
            parts.append(f"--- screenshot: {self.screenshot}")
        return "\n".join(parts)
