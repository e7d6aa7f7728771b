"""A shipped plugin is a real distribution: pip installs it on its own (into
a directory of its own, as a separate site), and the server finds it
through its ``chatly.plugins`` entry point, with no module path."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.plugins_shipped.conftest import PLUGINS_DIR
from tests.support.server import TestServer

PACKAGE = "chatly_contentfilter"


def _forget_package() -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def installed_site(tmp_path: Path) -> Iterator[Path]:
    """plugins/contentfilter installed by pip into its own site directory,
    first on ``sys.path`` (before the source directories). pip builds it in
    an isolated environment with the build back end its pyproject.toml
    names, as it builds the server itself. It builds from a copy, since
    setuptools writes build/ and .egg-info/ next to the sources."""
    site = tmp_path / "site"
    source = tmp_path / "contentfilter"
    shutil.copytree(
        PLUGINS_DIR / "contentfilter",
        source,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
    )
    _forget_package()
    sys.path.insert(0, str(site))
    yield site
    sys.path.remove(str(site))
    _forget_package()


def test_installed_distribution_is_found_by_its_entry_point(
    installed_site: Path, make_server: Callable[..., TestServer]
) -> None:
    assert list(installed_site.glob("chatly_contentfilter-0.1.0.dist-info"))
    entry = {"name": "contentfilter", "config": {"words": ["spam"]}}
    server = make_server({"plugins": {"load": [entry]}})
    plugin = server.hs.plugins.objects["contentfilter"]
    assert Path(sys.modules[type(plugin).__module__].__file__ or "").is_relative_to(
        installed_site
    )
    alice = server.user("alice")
    room = alice.create_room()
    resp = alice.send_event(room, {"msgtype": "m.text", "body": "spam"})
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"
    alice.send(room, "ham")
