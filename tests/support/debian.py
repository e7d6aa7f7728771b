"""Debian packages a test tier installs on first use (ngircd, nginx, haproxy).

``ensure_debian_binary(path, package)`` runs ``apt-get install -y PACKAGE``
when ``path`` is missing, under a lock file so that parallel test processes
install it once (as tests/e2e/web_client.py does for Chromium).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.e2e.web_client import APT_TIMEOUT, _locked, _run


def ensure_debian_binary(binary: Path, package: str) -> Path:
    """``binary``, installing Debian's ``package`` first if it is missing.

    Raises:
        RuntimeError: the install failed (with apt's output).
    """
    if binary.exists():
        return binary
    with _locked(f".{package}.lock"):
        if binary.exists():
            return binary
        if shutil.which("apt-get") is None:
            raise RuntimeError(f"{binary} is missing and there is no apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
        install = [*apt, "install", "-y", "--no-install-recommends", package]
        try:
            _run(install, f"installing {package}", APT_TIMEOUT, env=env)
        except RuntimeError:
            _run([*apt, "update"], "apt-get update", APT_TIMEOUT, env=env)
            _run(install, f"installing {package}", APT_TIMEOUT, env=env)
        if not binary.exists():
            raise RuntimeError(f"apt-get installed {package} but {binary} is missing")
    return binary
