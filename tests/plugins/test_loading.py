"""Loading: a plugin that cannot be loaded stops the server with a message
naming it (in process, and as a real ``python -m homeserver`` process)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from homeserver.config import ConfigError
from homeserver.plugins.loading import PluginLoadError
from tests.plugins.conftest import install_sample_dist, plugins_config
from tests.support.server import TestServer

ROOT = Path(__file__).resolve().parents[2]
MISSPELT = {"name": "typo", "module": "tests.plugins.misbehaving:Misspelt"}


def _load_error(make_server: Callable[..., TestServer], *entries: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        make_server(plugins_config(*entries))
    return caught.value.describe()


def test_misspelt_hook_fails_start_up(make_server: Callable[..., TestServer]) -> None:
    message = _load_error(make_server, MISSPELT)
    assert "plugins.load.typo" in message
    assert "chatly_on_new_evnt" in message and "unknown hook" in message


def test_hook_with_an_unknown_argument_fails_start_up(
    make_server: Callable[..., TestServer],
) -> None:
    entry = {"name": "badarg", "module": "tests.plugins.misbehaving:BadArgument"}
    message = _load_error(make_server, entry)
    assert "plugins.load.badarg" in message and "chatly_check_event" in message


def test_unknown_plugin_and_import_errors_name_the_plugin(
    make_server: Callable[..., TestServer],
) -> None:
    message = _load_error(make_server, {"name": "nowhere"})
    assert "plugin 'nowhere'" in message and "chatly.plugins" in message
    entry = {"name": "broken", "module": "tests.plugins.no_such_module:Plugin"}
    message = _load_error(make_server, entry)
    assert "plugin 'broken' cannot be loaded: ModuleNotFoundError" in message


def test_bad_plugin_settings_fail_with_their_key_path(
    sample_site: Path, make_server: Callable[..., TestServer]
) -> None:
    message = _load_error(
        make_server, {"name": "sample", "config": {"banned_wrd": "x"}}
    )
    assert "plugins.load.sample.config.banned_wrd" in message
    message = _load_error(make_server, {"name": "sample", "config": {"directory": 3}})
    assert "plugins.load.sample.config.directory" in message
    raising = {"name": "raising", "module": "tests.plugins.misbehaving:Raising"}
    message = _load_error(make_server, {**raising, "config": {"x": 1}})
    assert "takes no settings" in message


def test_unprovided_media_back_end_fails_start_up(
    make_server: Callable[..., TestServer],
) -> None:
    with pytest.raises(PluginLoadError) as caught:
        make_server({"media": {"storage": {"backend": "nobody"}}})
    assert "media.storage.backend" in caught.value.describe()


def test_disabled_plugin_is_not_loaded(make_server: Callable[..., TestServer]) -> None:
    server = make_server(plugins_config({**MISSPELT, "enabled": False}))
    assert server.hs.plugins.objects == {}


def test_chatly_plugins_env_limits_what_loads(
    make_server: Callable[..., TestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    raising = {"name": "raising", "module": "tests.plugins.misbehaving:Raising"}
    monkeypatch.setenv("CHATLY_PLUGINS", "raising")
    server = make_server(plugins_config(MISSPELT, raising))
    assert list(server.hs.plugins.objects) == ["raising"]
    monkeypatch.setenv("CHATLY_PLUGINS", "none")
    assert make_server(plugins_config(MISSPELT)).hs.plugins.objects == {}


def test_real_process_exits_naming_the_plugin(tmp_path: Path) -> None:
    """``python -m homeserver`` with a misspelt hook in a plugin installed as
    a distribution elsewhere: exit status 1 and the plugin named on stderr."""
    site = tmp_path / "site"
    site.mkdir()
    install_sample_dist(site)
    typo = site / "typo_plugin.py"
    typo.write_text(
        "class Plugin:\n"
        "    def __init__(self, api, config):\n"
        "        pass\n"
        "    def chatly_check_evnet(self, draft):\n"
        "        pass\n"
    )
    data = tmp_path / "data"
    data.mkdir()
    config = {
        "server": {"server_name": "test"},
        "listeners": [{"port": 1, "bind_addresses": ["127.0.0.1"]}],
        "plugins": {
            "load": [
                {"name": "sample"},
                {"name": "typo", "module": "typo_plugin"},
            ]
        },
    }
    (data / "homeserver.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{site}"}
    proc = subprocess.run(
        [sys.executable, "-m", "homeserver", "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "plugins.load.typo" in proc.stderr
    assert "chatly_check_evnet" in proc.stderr
