"""The real server process of the end-to-end tests (tests/e2e), for the
matrix-nio push rules test."""

from tests.e2e.conftest import running_server

__all__ = ["running_server"]
