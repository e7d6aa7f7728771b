"""The real server process for the matrix-nio push rules test, on each test
database engine (tests/push/process.py)."""

from tests.push.process import running_server

__all__ = ["running_server"]
