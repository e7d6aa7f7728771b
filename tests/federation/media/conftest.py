"""The S3 fixtures (a real moto_server) for federation media on S3."""

from tests.support.s3 import moto_s3, s3_bucket  # noqa: F401 - fixtures
