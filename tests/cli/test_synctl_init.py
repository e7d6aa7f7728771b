"""Tests for ``synctl init``."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
import yaml

from homeserver.cli import main
from homeserver.config import load_config
from homeserver.config.keyfile import read_signing_key


@attrs.frozen
class Result:
    code: int
    out: str
    err: str


Synctl = Callable[..., Result]


@pytest.fixture
def synctl(capsys: pytest.CaptureFixture[str]) -> Synctl:
    def run(*args: str) -> Result:
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def test_init_writes_a_small_valid_config(synctl: Synctl, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = synctl("init", "--data-dir", str(data), "--server-name", "example.com")
    assert result.code == 0, result.err
    assert "homeserver.yaml" in result.out

    raw = yaml.safe_load((data / "homeserver.yaml").read_text())
    assert raw["server"] == {"server_name": "example.com"}
    assert raw["listeners"] == [
        {
            "port": 8008,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "resources": ["client", "federation"],
        }
    ]
    assert raw["database"] == {"engine": "sqlite", "path": "homeserver.db"}
    assert raw["registration"]["enable_registration"] is False
    assert len(raw["registration"]["registration_shared_secret"]) >= 32
    assert raw["logging"] == {"file": "homeserver.log"}

    config = load_config(data / "homeserver.yaml")
    assert config.server.server_name == "example.com"
    assert config.client_base_url() == "http://127.0.0.1:8008/"
    # The media store is made on the first upload (none with S3-only storage).
    assert not (data / "media").exists()


def test_init_files_are_private(synctl: Synctl, tmp_path: Path) -> None:
    assert synctl("init", "--data-dir", str(tmp_path), "--server-name", "a.b").code == 0
    for name in ("homeserver.yaml", "signing.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    assert read_signing_key(tmp_path / "signing.key").alg == "ed25519"


def test_init_options(synctl: Synctl, tmp_path: Path) -> None:
    result = synctl(
        "init",
        "--data-dir",
        str(tmp_path),
        "--server-name",
        "chat.example.org",
        "--http-port",
        "18008",
        "--open-registration",
        "--public-baseurl",
        "https://matrix.example.org/",
    )
    assert result.code == 0, result.err
    config = load_config(tmp_path / "homeserver.yaml")
    assert config.listeners[0].port == 18008
    assert config.registration.enable_registration is True
    assert config.server.public_baseurl == "https://matrix.example.org/"
    assert config.client_base_url() == "https://matrix.example.org/"


def test_each_init_gets_its_own_secret(synctl: Synctl, tmp_path: Path) -> None:
    secrets = []
    for name in ("one", "two"):
        synctl("init", "--data-dir", str(tmp_path / name), "--server-name", "a.b")
        config = load_config(tmp_path / name / "homeserver.yaml")
        secrets.append(config.registration.registration_shared_secret)
    assert secrets[0] != secrets[1]


def test_init_refuses_to_overwrite(synctl: Synctl, tmp_path: Path) -> None:
    synctl("init", "--data-dir", str(tmp_path), "--server-name", "first.example")
    before = (tmp_path / "homeserver.yaml").read_bytes()
    result = synctl(
        "init", "--data-dir", str(tmp_path), "--server-name", "second.example"
    )
    assert result.code == 1
    assert "already exists" in result.err
    assert "--force" in result.err
    assert "Traceback" not in result.err
    assert (tmp_path / "homeserver.yaml").read_bytes() == before


def test_init_force_overwrites_but_keeps_the_key(
    synctl: Synctl, tmp_path: Path
) -> None:
    synctl("init", "--data-dir", str(tmp_path), "--server-name", "first.example")
    key = (tmp_path / "signing.key").read_text()
    result = synctl(
        "init",
        "--data-dir",
        str(tmp_path),
        "--server-name",
        "second.example",
        "--force",
    )
    assert result.code == 0, result.err
    assert "Kept the existing signing key" in result.out
    config = load_config(tmp_path / "homeserver.yaml")
    assert config.server.server_name == "second.example"
    assert (tmp_path / "signing.key").read_text() == key


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server-name", "not a name"], "invalid server name 'not a name'"),
        (["--server-name", "ok.example", "--http-port", "70000"], "listeners.0.port"),
        (["--server-name", ""], "invalid server name"),
    ],
)
def test_init_rejects_bad_values(
    synctl: Synctl, tmp_path: Path, args: list[str], message: str
) -> None:
    result = synctl("init", "--data-dir", str(tmp_path / "data"), *args)
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "data" / "homeserver.yaml").exists()


def test_init_requires_a_server_name(synctl: Synctl, tmp_path: Path) -> None:
    result = synctl("init", "--data-dir", str(tmp_path))
    assert result.code == 2
    assert "--server-name" in result.err


def test_init_for_a_federation_test_set_up(synctl: Synctl, tmp_path: Path) -> None:
    """The one-line set-up of the interop tests: IP literal with a port as the
    server name, TLS federation listener, insecure federation for testing."""
    result = synctl(
        "init",
        "--data-dir",
        str(tmp_path),
        "--server-name",
        "127.0.0.1:18448",
        "--http-port",
        "18008",
        "--federation-port",
        "18448",
        "--self-signed-tls",
        "--insecure-federation-for-testing",
        "--open-registration",
    )
    assert result.code == 0, result.err
    assert "for test set-ups only" in result.out

    text = (tmp_path / "homeserver.yaml").read_text()
    # The comment sits right above the section it explains, and the header
    # (which `synctl config set` keeps) points at it.
    comment, section = text.split("federation:\n", 1)
    assert "FOR TEST SET-UPS ONLY" in comment.splitlines()[-8]
    assert "verify_certificates: false accepts any TLS certificate" in comment
    assert "THIS CONFIG IS FOR TEST SET-UPS ONLY" in text.split("server:")[0]
    assert yaml.safe_load("federation:\n" + section)["federation"] == {
        "verify_certificates": False,
        "ip_range_whitelist": ["127.0.0.0/8", "::1/128"],
    }

    config = load_config(tmp_path / "homeserver.yaml")
    assert config.server.server_name == "127.0.0.1:18448"
    assert config.federation.verify_certificates is False
    assert config.federation.ip_range_whitelist == ["127.0.0.0/8", "::1/128"]
    # Loopback stays blacklisted by default; the whitelist is what lets it through.
    assert "127.0.0.0/8" in config.federation.ip_range_blacklist
    assert [(lst.port, lst.tls) for lst in config.listeners] == [
        (18008, False),
        (18448, True),
    ]
    assert config.registration.enable_registration is True
    assert (tmp_path / "tls.crt").exists()

    # `config set` rewrites the YAML without its comments but keeps the header,
    # which still says what the insecure settings are.
    changed = synctl(
        "config", "set", "--data-dir", str(tmp_path), "logging.level", "DEBUG"
    )
    assert changed.code == 0, changed.err
    header = (tmp_path / "homeserver.yaml").read_text().split("server:")[0]
    assert "THIS CONFIG IS FOR TEST SET-UPS ONLY" in header
    assert "verify_certificates is off" in header
    assert (
        load_config(tmp_path / "homeserver.yaml").federation.verify_certificates
        is False
    )


def test_init_is_secure_by_default(synctl: Synctl, tmp_path: Path) -> None:
    result = synctl("init", "--data-dir", str(tmp_path), "--server-name", "a.b")
    assert result.code == 0, result.err
    text = (tmp_path / "homeserver.yaml").read_text()
    assert "federation:" not in text
    assert "TEST SET-UPS ONLY" not in text
    config = load_config(tmp_path / "homeserver.yaml")
    assert config.federation.verify_certificates is True
    assert config.federation.ip_range_whitelist == []


@pytest.mark.parametrize(
    "name", ["127.0.0.1:8448", "[::1]:8448", "example.com:8448", "[2001:db8::1]"]
)
def test_init_accepts_server_names_with_ports(
    synctl: Synctl, tmp_path: Path, name: str
) -> None:
    result = synctl("init", "--data-dir", str(tmp_path), "--server-name", name)
    assert result.code == 0, result.err
    assert load_config(tmp_path / "homeserver.yaml").server.server_name == name
