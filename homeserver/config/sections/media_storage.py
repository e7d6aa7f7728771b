"""Config section: media.storage, where media files live (docs/media.md,
"Storage back ends")."""

from __future__ import annotations

import urllib.parse
from typing import Literal

import attrs

from homeserver.config.fields import option
from homeserver.util.structure import check

# The storage classes S3 (and most S3-compatible stores) accept.
STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
)


def _storage_class(_inst: object, _attribute: attrs.Attribute, value: str) -> None:
    """Validator: a storage class files may be written in (and read back at once)."""
    if value not in STORAGE_CLASSES:
        raise ValueError(f"expected one of {', '.join(STORAGE_CLASSES)}, got {value!r}")


def _prefix(_inst: object, _attribute: attrs.Attribute, value: str) -> None:
    """Validator: a key prefix is relative and, when set, ends with a slash."""
    if value.startswith("/"):
        raise ValueError("must not start with '/'")
    if value and not value.endswith("/"):
        raise ValueError("must end with '/' (e.g. 'media/')")


def _http_url(_inst: object, _attribute: attrs.Attribute, value: str | None) -> None:
    """Validator: an http:// or https:// URL with a host."""
    if value is None:
        return
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")


@attrs.frozen(kw_only=True)
class S3StorageConfig:
    """An S3 bucket (AWS, or a compatible store: MinIO, Cloudflare R2, Ceph)."""

    bucket: str = option("", doc="The bucket media files go to (required for s3).")
    prefix: str = option(
        "",
        doc="Prepended to every object key: a file at local_content/ab/cd/rest is "
        "kept at <prefix>local_content/ab/cd/rest. Empty, or ends with '/' "
        "(e.g. media/).",
        validator=_prefix,
    )
    region: str | None = option(
        None,
        doc="The bucket's region, e.g. eu-west-1; unset: the AWS_DEFAULT_REGION "
        "environment variable or ~/.aws/config.",
    )
    endpoint_url: str | None = option(
        None,
        doc="The S3 API URL of a compatible store, e.g. http://127.0.0.1:9000 "
        "for a local MinIO; unset: AWS.",
        validator=_http_url,
    )
    access_key_id: str | None = option(
        None,
        doc="Access key; unset: the standard AWS credential chain (environment "
        "variables, ~/.aws/credentials, an instance or container role).",
    )
    secret_access_key: str | None = option(
        None,
        doc="Secret key belonging to access_key_id.",
        secret=True,
    )
    storage_class: str = option(
        "STANDARD",
        doc="Storage class of new objects: " + ", ".join(STORAGE_CLASSES) + ".",
        validator=_storage_class,
    )
    mode: Literal["cache", "s3_only"] = option(
        "cache",
        doc="cache: files are written to media_store_path and to S3, read from "
        "local disk first, and fetched back from S3 (and kept locally again) "
        "when missing there, so local files may be deleted at will. s3_only: "
        "nothing is written to local disk, not even temporary files.",
    )

    def __attrs_post_init__(self) -> None:
        check(
            (self.access_key_id is None) == (self.secret_access_key is None),
            "secret_access_key" if self.access_key_id else "access_key_id",
            "access_key_id and secret_access_key go together",
        )


@attrs.frozen(kw_only=True)
class MediaStorageConfig:
    """The storage back end of media files."""

    backend: str = option(
        "local",
        doc="local: files on disk under media_store_path. s3: an S3 bucket "
        "(settings under s3). Move existing files with: synctl media migrate --to s3. "
        "Any other name: the back end a loaded plugin provides under that name "
        "(its chatly_media_storage hook; docs/plugins.md); start-up fails if "
        "none does.",
    )
    s3: S3StorageConfig = option(
        factory=S3StorageConfig, doc="The bucket, when backend is s3."
    )

    @property
    def s3_only(self) -> bool:
        """Whether nothing of media may touch local disk (``s3_only`` mode)."""
        return self.backend == "s3" and self.s3.mode == "s3_only"

    def __attrs_post_init__(self) -> None:
        check(
            self.backend != "s3" or bool(self.s3.bucket),
            "s3.bucket",
            "is required when backend is s3",
        )
