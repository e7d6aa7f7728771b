"""Tests for ``synctl config check|show|get|set|unset``."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
import yaml

from homeserver.cli import main
from homeserver.config import load_config


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


@pytest.fixture
def data_dir(synctl: Synctl, tmp_path: Path) -> Path:
    result = synctl("init", "--data-dir", str(tmp_path), "--server-name", "example.com")
    assert result.code == 0, result.err
    return tmp_path


def write_config(data_dir: Path, text: str) -> None:
    (data_dir / "homeserver.yaml").write_text(text)


# --- check -------------------------------------------------------------------


def test_check_ok(synctl: Synctl, data_dir: Path) -> None:
    result = synctl("config", "check", "--data-dir", str(data_dir))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == f"OK: {data_dir / 'homeserver.yaml'}"


def test_check_unknown_key_suggests_the_right_one(
    synctl: Synctl, tmp_path: Path
) -> None:
    write_config(tmp_path, "server:\n  server_name: a.b\nlistners: []\n")
    result = synctl("config", "check", "--data-dir", str(tmp_path))
    assert result.code == 1
    assert "listners: unknown key; did you mean 'listeners'?" in result.err
    assert "Traceback" not in result.err


def test_check_bad_type_names_the_key_path(synctl: Synctl, tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "server:\n  server_name: a.b\nlisteners:\n  - port: 8008\n  - port: lots\n"
        "registration:\n  enable_registration: maybe\n",
    )
    result = synctl("config", "check", "--data-dir", str(tmp_path))
    assert result.code == 1
    assert "listeners.1.port: expected an integer" in result.err
    assert "registration.enable_registration: expected true or false" in result.err
    assert "Traceback" not in result.err


def test_check_missing_required_key(synctl: Synctl, tmp_path: Path) -> None:
    write_config(tmp_path, "listeners:\n  - port: 8008\n")
    result = synctl("config", "check", "--data-dir", str(tmp_path))
    assert result.code == 1
    assert "server: is required" in result.err


def test_check_invalid_yaml_gives_the_line(synctl: Synctl, tmp_path: Path) -> None:
    write_config(tmp_path, "server:\n  server_name: [a.b\n")
    result = synctl("config", "check", "--data-dir", str(tmp_path))
    assert result.code == 1
    assert "invalid YAML" in result.err
    assert "line " in result.err


def test_check_without_config(synctl: Synctl, tmp_path: Path) -> None:
    result = synctl("config", "check", "--data-dir", str(tmp_path / "none"))
    assert result.code == 1
    assert "no config at" in result.err
    assert "synctl init" in result.err


def test_check_rejects_a_broken_signing_key(synctl: Synctl, data_dir: Path) -> None:
    (data_dir / "signing.key").write_text("garbage\n")
    result = synctl("config", "check", "--data-dir", str(data_dir))
    assert result.code == 1
    assert "signing key" in result.err


# --- show --------------------------------------------------------------------


def test_show_fills_in_defaults_and_redacts_secrets(
    synctl: Synctl, data_dir: Path
) -> None:
    secret = load_config(data_dir / "homeserver.yaml").registration
    assert secret.registration_shared_secret
    result = synctl("config", "show", "--data-dir", str(data_dir))
    assert result.code == 0, result.err
    shown = yaml.safe_load(result.out)
    assert list(shown)[:2] == ["server", "listeners"]  # model order, not sorted
    assert shown["server"]["default_room_version"] == "10"
    assert shown["listeners"][0]["tls"] is False
    assert shown["registration"]["registration_shared_secret"] == "<redacted>"
    assert secret.registration_shared_secret not in result.out
    assert shown["auth"]["jwt"]["secret"] is None  # unset: nothing to hide


def test_show_redacts_every_secret(synctl: Synctl, tmp_path: Path) -> None:
    (tmp_path / "jwt.secret").write_text("jwt-secret-value\n")
    write_config(
        tmp_path,
        "server: {server_name: a.b}\n"
        "database: {engine: postgres, dsn: 'password=dsn-secret-value'}\n"
        "auth: {jwt: {enabled: true, secret_path: jwt.secret}}\n"
        "registration: {registration_shared_secret: shared-secret-value}\n",
    )
    result = synctl("config", "show", "--data-dir", str(tmp_path))
    assert result.code == 0, result.err
    assert "secret-value" not in result.out
    shown = yaml.safe_load(result.out)
    assert shown["database"]["dsn"] == "<redacted>"
    assert shown["auth"]["jwt"]["secret"] == "<redacted>"
    assert shown["registration"]["registration_shared_secret"] == "<redacted>"

    revealed = synctl("config", "show", "--data-dir", str(tmp_path), "--show-secrets")
    shown = yaml.safe_load(revealed.out)
    assert shown["database"]["dsn"] == "password=dsn-secret-value"
    assert shown["auth"]["jwt"]["secret"] == "jwt-secret-value"


def test_show_invalid_config(synctl: Synctl, tmp_path: Path) -> None:
    write_config(tmp_path, "server: {server_name: a.b, port: 1}\n")
    result = synctl("config", "show", "--data-dir", str(tmp_path))
    assert result.code == 1
    assert "server.port: unknown key" in result.err
    assert result.out == ""


# --- get ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "printed"),
    [
        ("listeners.0.port", "8008"),
        ("server.server_name", "example.com"),
        ("registration.enable_registration", "false"),
        ("server.public_baseurl", "null"),
        ("auth.ui_auth_session_timeout", "900000"),  # a default, in ms
        ("listeners.0.resources", "- client\n- federation"),
        ("registration.registration_shared_secret", "<redacted>"),
    ],
)
def test_get(synctl: Synctl, data_dir: Path, key: str, printed: str) -> None:
    result = synctl("config", "get", "--data-dir", str(data_dir), key)
    assert result.code == 0, result.err
    assert result.out == printed + "\n"


def test_get_a_section_prints_yaml(synctl: Synctl, data_dir: Path) -> None:
    result = synctl("config", "get", "--data-dir", str(data_dir), "database")
    assert yaml.safe_load(result.out)["engine"] == "sqlite"


def test_get_secret_with_show_secrets(synctl: Synctl, data_dir: Path) -> None:
    config = load_config(data_dir / "homeserver.yaml")
    key = "registration.registration_shared_secret"
    result = synctl("config", "get", "--data-dir", str(data_dir), key, "--show-secrets")
    assert result.out.strip() == config.registration.registration_shared_secret


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("servr.server_name", "did you mean 'server'?"),
        ("server.nmae", "unknown key 'server.nmae'"),
        ("listeners.3.port", "index from 0 to 0"),
        ("listeners.x", "index"),
        ("server.server_name.more", "single value"),
        ("server..name", "invalid key"),
    ],
)
def test_get_unknown_key(
    synctl: Synctl, data_dir: Path, key: str, message: str
) -> None:
    result = synctl("config", "get", "--data-dir", str(data_dir), key)
    assert result.code == 1
    assert message in result.err
    assert result.out == ""


# --- set / unset -------------------------------------------------------------


def test_set_persists(synctl: Synctl, data_dir: Path) -> None:
    path = data_dir / "homeserver.yaml"
    result = synctl(
        "config", "set", "--data-dir", str(data_dir), "listeners.0.port", "9008"
    )
    assert result.code == 0, result.err
    assert "listeners.0.port = 9008" in result.out
    assert load_config(path).listeners[0].port == 9008
    get = synctl("config", "get", "--data-dir", str(data_dir), "listeners.0.port")
    assert get.out == "9008\n"
    # The header comment and the file's private mode survive the rewrite.
    assert path.read_text().startswith("# Chatly homeserver configuration")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith(".")) == []


def test_set_creates_missing_sections(synctl: Synctl, data_dir: Path) -> None:
    result = synctl(
        "config", "set", "--data-dir", str(data_dir), "auth.token_login.enabled", "true"
    )
    assert result.code == 0, result.err
    config = load_config(data_dir / "homeserver.yaml")
    assert config.auth.token_login.enabled is True


def test_set_one_field_of_a_section_with_defaults(
    synctl: Synctl, data_dir: Path
) -> None:
    """The section's other fields keep their defaults (they were "required")."""
    d = str(data_dir)
    key = "rate_limiting.registration_per_address.per_second"
    result = synctl("config", "set", "--data-dir", d, key, "1000")
    assert result.code == 0, result.err
    limits = load_config(data_dir / "homeserver.yaml").rate_limiting
    assert limits.registration_per_address.per_second == 1000
    assert limits.registration_per_address.burst_count == 3  # its default
    burst = synctl(
        "config",
        "get",
        "--data-dir",
        d,
        "rate_limiting.registration_per_address.burst_count",
    )
    assert burst.out == "3\n"
    # Another section's default is its own, not the first one's.
    assert limits.message.burst_count == 10


def test_set_parses_yaml_values(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    assert (
        synctl(
            "config", "set", "--data-dir", d, "auth.access_token_lifetime", "10m"
        ).code
        == 0
    )
    assert (
        synctl(
            "config", "set", "--data-dir", d, "listeners.0.resources", "[client]"
        ).code
        == 0
    )
    assert (
        synctl(
            "config",
            "set",
            "--data-dir",
            d,
            "server.public_baseurl",
            "https://m.example.com/",
        ).code
        == 0
    )
    config = load_config(data_dir / "homeserver.yaml")
    assert config.auth.access_token_lifetime == 600_000
    assert config.listeners[0].resources == ["client"]
    assert config.client_base_url() == "https://m.example.com/"
    assert (
        synctl("config", "set", "--data-dir", d, "server.public_baseurl", "null").code
        == 0
    )
    assert load_config(data_dir / "homeserver.yaml").server.public_baseurl is None


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("listeners.0.port", "not-a-port", "listeners.0.port: expected an integer"),
        ("listeners.0.port", "0", "listeners.0.port: expected a port"),
        ("registration.enable_registration", "yes please", "expected true or false"),
        ("server.server_nmae", "x", "did you mean 'server_name'?"),
        ("database.engine", "postgres", "database.dsn: is required"),
        ("listeners.2.port", "8009", "index from 0 to 0"),
        ("server.server_name.x", "1", "single value"),
        ("server.server_name", "[unclosed", "cannot read '[unclosed' as a YAML value"),
    ],
)
def test_invalid_set_leaves_the_file_unchanged(
    synctl: Synctl, data_dir: Path, key: str, value: str, message: str
) -> None:
    path = data_dir / "homeserver.yaml"
    before = path.read_bytes()
    result = synctl("config", "set", "--data-dir", str(data_dir), key, value)
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.err
    assert path.read_bytes() == before


def test_set_on_a_missing_list(synctl: Synctl, tmp_path: Path) -> None:
    write_config(tmp_path, "server: {server_name: a.b}\n")
    result = synctl(
        "config", "set", "--data-dir", str(tmp_path), "listeners.0.port", "1"
    )
    assert result.code == 1
    assert "list items must exist" in result.err


def test_set_can_repair_an_invalid_config(synctl: Synctl, tmp_path: Path) -> None:
    write_config(tmp_path, "server: {server_name: a.b}\nlisteners: [{port: oops}]\n")
    result = synctl(
        "config", "set", "--data-dir", str(tmp_path), "listeners.0.port", "8008"
    )
    assert result.code == 0, result.err
    assert load_config(tmp_path / "homeserver.yaml").listeners[0].port == 8008


def test_unset_restores_the_default(synctl: Synctl, data_dir: Path) -> None:
    d = str(data_dir)
    synctl("config", "set", "--data-dir", d, "metrics.enabled", "true")
    result = synctl("config", "unset", "--data-dir", d, "metrics.enabled")
    assert result.code == 0, result.err
    raw = yaml.safe_load((data_dir / "homeserver.yaml").read_text())
    assert "metrics" not in raw  # the emptied section goes too
    assert synctl("config", "get", "--data-dir", d, "metrics.enabled").out == "false\n"


def test_unset_refuses_to_break_the_config(synctl: Synctl, data_dir: Path) -> None:
    path = data_dir / "homeserver.yaml"
    before = path.read_bytes()
    result = synctl(
        "config", "unset", "--data-dir", str(data_dir), "server.server_name"
    )
    assert result.code == 1
    assert "server: is required" in result.err
    assert path.read_bytes() == before


def test_unset_of_an_absent_key(synctl: Synctl, data_dir: Path) -> None:
    result = synctl("config", "unset", "--data-dir", str(data_dir), "metrics.enabled")
    assert result.code == 1
    assert "already has its default" in result.err
