"""Federation fixtures for the cross-server tests of this folder."""

from tests.federation.conftest import make_federation, make_pair, pair  # noqa: F401
