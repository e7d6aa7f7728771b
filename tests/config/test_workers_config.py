"""The workers section: validation of a worker deployment's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeserver.app import build_server
from homeserver.config import ConfigError, parse_config

MINIMAL = {"server": {"server_name": "example.com"}}
READER = {"name": "reader1", "role": "client_reader", "port": 8101}


def problems(workers: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config({**MINIMAL, "workers": workers})
    return [str(p) for p in info.value.problems]


def test_default_is_one_process_without_redis() -> None:
    workers = parse_config(MINIMAL).workers
    assert workers.instances == [] and not workers.enabled
    assert workers.redis_url is None and workers.redis_prefix == "chatly"


def test_instances_need_a_redis_url() -> None:
    assert problems({"instances": [READER]}) == [
        "workers.redis_url: required when instances is not empty "
        "(replication runs over Redis)"
    ]


def test_names_are_unique_and_main_is_reserved() -> None:
    url = "redis://127.0.0.1:6379/0"
    twice = problems({"redis_url": url, "instances": [READER, {**READER, "port": 9}]})
    assert twice == ["workers.instances: two instances share a name"]
    main = problems({"redis_url": url, "instances": [{**READER, "name": "main"}]})
    assert main == ["workers.instances.0.name: 'main' is the main process's name"]


def test_stream_writers_name_known_streams_and_processes() -> None:
    base = {"redis_url": "redis://localhost", "instances": [READER]}
    events = problems({**base, "stream_writers": {"events": "reader1"}})
    assert events[0].startswith("workers.stream_writers.events: unknown stream")
    nobody = problems({**base, "stream_writers": {"typing": "nobody"}})
    assert nobody == [
        "workers.stream_writers.typing: 'nobody' is not main or a name in instances"
    ]


def test_a_worker_cannot_take_a_listener_port() -> None:
    with pytest.raises(ConfigError, match="a worker's port is also a listener's port"):
        parse_config(
            {
                **MINIMAL,
                "workers": {
                    "redis_url": "redis://localhost",
                    "instances": [{**READER, "port": 8008}],
                },
            }
        )


def test_writable_streams_are_the_synced_streams_but_events() -> None:
    """The config names the streams without importing the registry (config
    is the bottom layer); this keeps the two lists the same."""
    from homeserver.config.sections.workers import WRITABLE_STREAMS
    from homeserver.streams.registry import SYNC_STREAM_NAMES

    assert set(WRITABLE_STREAMS) == set(SYNC_STREAM_NAMES) - {"events"}


def test_a_worker_process_must_be_on_postgres(tmp_path: Path) -> None:
    """The in-process test deployments run on any engine, so it is the
    process start (``python -m homeserver``) that refuses SQLite."""
    config = parse_config(
        {
            **MINIMAL,
            "workers": {"redis_url": "redis://localhost", "instances": [READER]},
        }
    )
    with pytest.raises(ConfigError, match="set database.engine to postgres"):
        build_server(config, tmp_path, None, None, "reader1")
