"""database.cp_max: the PostgreSQL pool follows the machine unless set."""

from __future__ import annotations

import pytest

from homeserver.config import ConfigError, parse_config
from homeserver.config.sections.server import MAX_AUTO_CONNECTIONS, available_cpus

SERVER = {"server_name": "example.com"}


def test_unset_cp_max_is_two_connections_per_cpu() -> None:
    database = parse_config({"server": SERVER}).database
    assert database.cp_max is None
    assert database.pool_size(1) == 2
    assert database.pool_size(2) == 4
    assert database.pool_size(8) == 16
    assert database.pool_size(64) == MAX_AUTO_CONNECTIONS == 32
    expected = max(database.cp_min, min(2 * available_cpus(), 32))
    assert database.pool_size() == expected


def test_unset_cp_max_is_never_below_cp_min() -> None:
    database = parse_config({"server": SERVER, "database": {"cp_min": 6}}).database
    assert database.pool_size(1) == 6


def test_a_set_cp_max_is_kept_whatever_the_cpus() -> None:
    database = parse_config({"server": SERVER, "database": {"cp_max": 3}}).database
    assert database.pool_size(1) == 3
    assert database.pool_size(64) == 3


def test_cp_min_above_a_set_cp_max_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"server": SERVER, "database": {"cp_min": 5, "cp_max": 3}})
    assert any("cp_min" in str(p) for p in info.value.problems)
    with pytest.raises(ConfigError) as info:
        parse_config({"server": SERVER, "database": {"cp_max": 0}})
    assert any("cp_max" in str(p) for p in info.value.problems)
