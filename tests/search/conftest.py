"""The federation fixtures, for the search tests across two servers."""

from tests.federation.conftest import make_federation, make_pair, pair

__all__ = ["make_federation", "make_pair", "pair"]
