"""Fixtures for federation tests: in-process servers that federate over
loopback HTTP (see tests/federation/pair.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from homeserver.storage.engines import Engine
from tests.federation.pair import Federation, FederationPair


@pytest.fixture
def make_federation(
    make_engine: Callable[[], Engine], tmp_path: Path
) -> Iterator[Callable[[], Federation]]:
    """Makes an empty ``Federation``; add servers with ``add_server``."""
    made: list[Federation] = []

    def make() -> Federation:
        federation = Federation(make_engine, tmp_path)
        made.append(federation)
        return federation

    yield make
    for federation in made:
        federation.close()


@pytest.fixture
def make_pair(
    make_engine: Callable[[], Engine], tmp_path: Path
) -> Iterator[Callable[..., FederationPair]]:
    """Makes a ``FederationPair`` with per-server config overrides:
    ``make_pair(overrides_a={...}, overrides_b={...})``."""
    made: list[FederationPair] = []

    def make(
        overrides_a: dict[str, Any] | None = None,
        overrides_b: dict[str, Any] | None = None,
    ) -> FederationPair:
        pair = FederationPair(make_engine, tmp_path, overrides_a, overrides_b)
        made.append(pair)
        return pair

    yield make
    for pair in made:
        pair.close()


@pytest.fixture
def pair(make_pair: Callable[..., FederationPair]) -> FederationPair:
    """Two federating servers: ``pair.a`` ("a.test") and ``pair.b`` ("b.test")."""
    return make_pair()
