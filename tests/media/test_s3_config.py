"""The media.storage config section: choices and the problems it reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from homeserver.config import ConfigError, parse_config


def storage(section: dict[str, Any]) -> Any:
    return parse_config(
        {"server": {"server_name": "example.com"}, "media": {"storage": section}}
    ).media.storage


def problems(section: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        storage(section)
    return [str(p) for p in info.value.problems]


def test_defaults_are_local_disk() -> None:
    config = storage({})
    assert config.backend == "local"
    assert config.s3.mode == "cache"
    assert config.s3.storage_class == "STANDARD"
    assert config.s3.access_key_id is None


def test_a_full_s3_section(tmp_path: Path) -> None:
    secret = tmp_path / "s3-secret"
    secret.write_text("sekrit\n")
    config = storage(
        {
            "backend": "s3",
            "s3": {
                "bucket": "media",
                "prefix": "chatly/",
                "region": "eu-west-1",
                "endpoint_url": "http://127.0.0.1:9000",
                "access_key_id": "AKID",
                "secret_access_key_path": str(secret),
                "storage_class": "STANDARD_IA",
                "mode": "s3_only",
            },
        }
    )
    assert config.s3.secret_access_key == "sekrit"
    assert config.s3.mode == "s3_only"


def test_problems_name_their_option() -> None:
    assert problems({"backend": "s3"}) == [
        "media.storage.s3.bucket: is required when backend is s3"
    ]
    # Any other backend name is a plugin's (checked at start-up, when plugins
    # have loaded: tests/plugins/test_loading.py), so it is no problem here.
    assert storage({"backend": "azure"}).backend == "azure"
    found = problems(
        {"s3": {"prefix": "no-slash", "storage_class": "GLACIER", "mode": "x"}}
    )
    assert len(found) == 3
    assert "media.storage.s3.prefix: must end with '/' (e.g. 'media/')" in found
    assert any(p.startswith("media.storage.s3.storage_class: expected") for p in found)
    assert any(p.startswith("media.storage.s3.mode: expected one of") for p in found)
    assert problems({"s3": {"endpoint_url": "127.0.0.1:9000"}}) == [
        "media.storage.s3.endpoint_url: expected an http:// or https:// URL, "
        "got '127.0.0.1:9000'"
    ]
    assert problems({"s3": {"access_key_id": "AKID"}}) == [
        "media.storage.s3.secret_access_key: access_key_id and secret_access_key "
        "go together"
    ]
