"""Tests for homeserver.config.keyfile (the signing key file)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from signedjson.key import get_verify_key
from signedjson.sign import sign_json, verify_signed_json

from homeserver.config import ConfigError
from homeserver.config.keyfile import (
    ensure_signing_key,
    generate_signing_key_file,
    read_signing_key,
)


def test_generate_writes_one_private_ed25519_key(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    generate_signing_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"ed25519 a_[A-Za-z0-9]{4} [A-Za-z0-9+/]{43}", lines[0])
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_read_returns_a_key_that_signs(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    generate_signing_key_file(path)
    key = read_signing_key(path)
    assert key.alg == "ed25519"
    assert path.read_text().split()[1] == key.version
    signed = sign_json({"a": 1}, "example.com", key)
    verify_signed_json(signed, "example.com", get_verify_key(key))


def test_generate_makes_a_new_key_each_time(tmp_path: Path) -> None:
    first, second = tmp_path / "one.key", tmp_path / "two.key"
    generate_signing_key_file(first)
    generate_signing_key_file(second)
    assert first.read_text() != second.read_text()


def test_ensure_generates_only_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "signing.key"
    key = ensure_signing_key(path)
    text = path.read_text()
    again = ensure_signing_key(path)
    assert path.read_text() == text
    assert again.encode() == key.encode()


def test_read_ignores_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    generate_signing_key_file(path)
    path.write_text("\n" + path.read_text() + "\n\n")
    assert read_signing_key(path).alg == "ed25519"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("ed25519 a_abcd\n", "invalid signing key file"),
        ("rsa a_abcd AAAA\n", "invalid signing key file"),
        ("ed25519 a_abcd not-base64!\n", "invalid signing key file"),
    ],
)
def test_read_rejects_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "signing.key"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        read_signing_key(path)
    assert message in info.value.describe()
    assert str(path) in info.value.describe()


def test_read_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read signing key"):
        read_signing_key(tmp_path / "nope.key")
