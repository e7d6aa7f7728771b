"""Fixtures: the real server process for the matrix-nio counts test, on each
test database engine (tests/push/process.py), and two federating in-process
servers (tests/federation) for federated counts and pushes."""

from tests.federation.conftest import make_federation, make_pair, pair
from tests.push.process import running_server

__all__ = ["make_federation", "make_pair", "pair", "running_server"]
