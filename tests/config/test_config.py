"""The typed config: validation, did-you-mean, secrets from files, the sample."""

from __future__ import annotations

import typing
from pathlib import Path

import attrs
import pytest
import yaml

from homeserver.config import ConfigError, HomeserverConfig, load_config, parse_config
from homeserver.config.sample import generate_sample

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {"server": {"server_name": "example.com"}}


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return [str(p) for p in info.value.problems]


def test_minimal_config_gets_defaults() -> None:
    config = parse_config(MINIMAL)
    assert config.server.server_name == "example.com"
    assert config.listeners[0].port == 8008
    assert config.database.engine == "sqlite"
    assert config.registration.enable_registration is False
    assert config.metrics.enabled is False


def test_unknown_keys_get_did_you_mean() -> None:
    found = problems({"server": {"server_name": "x", "sever_name": 1}, "databse": {}})
    assert "server.sever_name: unknown key; did you mean 'server_name'?" in found
    assert "databse: unknown key; did you mean 'database'?" in found


def test_every_problem_is_reported_with_its_path() -> None:
    found = problems(
        {
            "server": {"server_name": "x"},
            "listeners": [{"port": 70000, "resources": ["client", "bogus"]}],
            "database": {"engine": "postgres"},
            "auth": {"access_token_lifetime": "soon"},
            "registration": {"enable_registration": "yes"},
        }
    )
    assert any(p.startswith("listeners.0.port: expected a port") for p in found)
    assert any(p.startswith("listeners.0.resources.1: expected one of") for p in found)
    assert "database.dsn: is required when engine is postgres" in found
    assert any(
        p.startswith("auth.access_token_lifetime: expected a duration") for p in found
    )
    assert "registration.enable_registration: expected true or false" in found


def test_missing_required_section() -> None:
    assert "server: is required" in problems({})


def test_durations_and_sizes_take_units() -> None:
    config = parse_config(
        {
            **MINIMAL,
            "auth": {"access_token_lifetime": "2h"},
            "http": {"max_request_body_size": "512K"},
        }
    )
    assert config.auth.access_token_lifetime == 2 * 3600 * 1000
    assert config.http.max_request_body_size == 512 * 1024


def test_secret_read_from_file(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret\n")
    (tmp_path / "homeserver.yaml").write_text(
        yaml.safe_dump(
            {
                **MINIMAL,
                "registration": {"registration_shared_secret_path": "secret.txt"},
            }
        )
    )
    config = load_config(tmp_path / "homeserver.yaml")
    assert config.registration.registration_shared_secret == "s3cret"


def test_secret_file_problems(tmp_path: Path) -> None:
    found = problems(
        {
            **MINIMAL,
            "registration": {
                "registration_shared_secret_path": str(tmp_path / "missing")
            },
        }
    )
    assert found[0].startswith(
        "registration.registration_shared_secret_path: cannot read"
    )
    both = problems(
        {
            **MINIMAL,
            "registration": {
                "registration_shared_secret": "a",
                "registration_shared_secret_path": "b",
            },
        }
    )
    assert (
        "give registration_shared_secret or registration_shared_secret_path" in both[0]
    )


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "homeserver.yaml").write_text("server:\n  server_name: [x\n")
    with pytest.raises(ConfigError, match="line"):
        load_config(tmp_path / "homeserver.yaml")


def test_committed_sample_matches_the_model() -> None:
    committed = (ROOT / "config" / "homeserver.sample.yaml").read_text()
    assert committed == generate_sample(), (
        "config/homeserver.sample.yaml is stale: "
        "run `python -m homeserver.config.sample > config/homeserver.sample.yaml`"
    )


def test_sample_is_a_valid_config() -> None:
    config = parse_config(yaml.safe_load(generate_sample()))
    assert isinstance(config, HomeserverConfig)


def _all_fields(cls: type) -> list[tuple[str, attrs.Attribute]]:
    out = []
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        out.append((f"{cls.__name__}.{field.name}", field))
        if attrs.has(hints[field.name]):
            out.extend(_all_fields(hints[field.name]))
        for arg in typing.get_args(hints[field.name]):
            if attrs.has(arg):
                out.extend(_all_fields(arg))
    return out


def test_every_option_is_documented() -> None:
    sample = generate_sample()
    for name, field in _all_fields(HomeserverConfig):
        assert field.metadata.get("doc"), f"{name} has no doc"
        assert f"{field.name}:" in sample, f"{name} missing from the sample"


def test_validators_do_not_run_on_values_of_the_wrong_type() -> None:
    assert problems({**MINIMAL, "listeners": [{"port": "abc"}]}) == [
        "listeners.0.port: expected an integer"
    ]


def test_tls_listener_needs_certificate_paths() -> None:
    found = problems({**MINIMAL, "listeners": [{"port": 8448, "tls": True}]})
    assert found == [
        "tls: a listener has tls: true, so certificate_path and private_key_path "
        "are required"
    ]
    config = parse_config(
        {
            **MINIMAL,
            "listeners": [{"port": 8448, "tls": True}],
            "tls": {"certificate_path": "a", "private_key_path": "b"},
        }
    )
    assert config.listeners[0].tls
