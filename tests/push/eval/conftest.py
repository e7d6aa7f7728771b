"""Fixtures borrowed from other test folders: the real server process of the
end-to-end tests (tests/e2e) for the matrix-nio counts test, and two
federating in-process servers (tests/federation) for federated counts."""

from tests.e2e.conftest import running_server
from tests.federation.conftest import make_pair, pair

__all__ = ["make_pair", "pair", "running_server"]
