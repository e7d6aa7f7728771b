"""The S3 fixtures (a real moto_server) for ``synctl media migrate``."""

from tests.support.s3 import moto_s3, s3_bucket  # noqa: F401 - fixtures
