"""Fixtures of the plugin host's tests: the sample plugin installed as a
separate distribution (its package plus a ``.dist-info`` with METADATA and
entry_points.txt, in a directory put on ``sys.path``), and servers that load
it."""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import TestServer

SAMPLE_DIST = Path(__file__).parent / "sample_dist"
PACKAGE = "chatly_sample_plugin"

ENTRY_POINTS = """\
[chatly.plugins]
sample = chatly_sample_plugin:SamplePlugin
"""
METADATA = """\
Metadata-Version: 2.1
Name: chatly-sample-plugin
Version: 0.1
"""


def install_sample_dist(site: Path) -> None:
    """Install the sample distribution into ``site`` as pip would lay it out."""
    shutil.copytree(SAMPLE_DIST / PACKAGE, site / PACKAGE)
    info = site / "chatly_sample_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(METADATA)
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (info / "top_level.txt").write_text(PACKAGE + "\n")


@pytest.fixture
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A site directory on ``sys.path`` holding the sample distribution."""
    site = tmp_path_factory.mktemp("site")
    install_sample_dist(site)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))
    sys.modules.pop(PACKAGE, None)
    importlib.invalidate_caches()


def plugins_config(*entries: dict[str, Any], timeout: str = "5s") -> dict[str, Any]:
    """Config overrides loading ``entries``."""
    return {
        "plugins": {"load": list(entries), "hook_timeout": timeout},
        "metrics": {"enabled": True},
    }


SAMPLE = {
    "name": "sample",
    "config": {"directory": {"lenny": "ldap-secret"}},
}


@pytest.fixture
def plugin_server(
    sample_site: Path, make_server: Callable[..., TestServer]
) -> TestServer:
    """A server with the sample plugin (from its entry point) loaded and its
    media back end in use."""
    overrides = plugins_config(SAMPLE)
    overrides["media"] = {"storage": {"backend": "memory"}}
    return make_server(overrides)


def sample(server: TestServer) -> Any:
    """The loaded sample plugin object."""
    return server.hs.plugins.objects["sample"]
