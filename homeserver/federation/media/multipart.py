"""The multipart/mixed body of the federation media endpoints, both ways.

Spec: server-server-api.md "Content Repository" (content_repository.yaml):
exactly two parts; the first is ``application/json`` metadata (``{}`` for
now), the second is either the media with its own ``Content-Type`` and
``Content-Disposition`` or a ``Location`` header pointing at where the media
can be fetched. Reading uses the standard library's MIME parser (``email``),
which handles binary parts byte for byte; see docs/architecture.md for why
not a form-data parser.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import secrets
from email.message import EmailMessage, MIMEPart

import attrs

from homeserver.types import JsonDict


class MultipartError(ValueError):
    """A body that is not the two-part answer the spec describes."""


@attrs.frozen
class MediaPart:
    """What a federation media answer carries.

    Attributes:
        metadata: the JSON of the first part.
        media_type: the second part's Content-Type (None if it had none).
        disposition: its Content-Disposition header, if any.
        data: the media bytes, or None when the answer is a redirect.
        location: the redirect target, when the second part is one.
    """

    metadata: JsonDict
    media_type: str | None
    disposition: str | None
    data: bytes | None
    location: str | None


def encode(
    data: bytes, media_type: str, disposition: str, metadata: JsonDict | None = None
) -> tuple[str, bytes]:
    """The multipart answer for ``data``: its Content-Type header and body.

    The boundary is random and checked not to occur in ``data``.
    """
    boundary = secrets.token_hex(16)
    while boundary.encode() in data:  # astronomically unlikely
        boundary = secrets.token_hex(16)
    meta = json.dumps(metadata or {}, separators=(",", ":")).encode()
    dash = b"--" + boundary.encode()
    body = b"".join(
        [
            dash + b"\r\nContent-Type: application/json\r\n\r\n",
            meta,
            b"\r\n" + dash + b"\r\n",
            f"Content-Type: {media_type}\r\n".encode("latin-1"),
            f"Content-Disposition: {disposition}\r\n\r\n".encode("latin-1"),
            data,
            b"\r\n" + dash + b"--\r\n",
        ]
    )
    return f"multipart/mixed; boundary={boundary}", body


def decode(content_type: str, body: bytes) -> MediaPart:
    """Read a federation media answer (blocking work for large bodies: run
    it off the reactor thread).

    Raises:
        MultipartError: not multipart/mixed with a boundary, not two parts,
            metadata that is not a JSON object, or a second part with
            neither bytes nor a Location.
    """
    try:
        head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    except UnicodeEncodeError:
        raise MultipartError("bad Content-Type") from None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    assert isinstance(message, EmailMessage)
    if message.get_content_type() != "multipart/mixed" or not message.get_boundary():
        raise MultipartError(f"not multipart/mixed with a boundary: {content_type}")
    parts = list(message.iter_parts())
    if len(parts) != 2:
        raise MultipartError(f"{len(parts)} parts, not 2")
    first, second = parts
    metadata = _metadata(first)
    location = second.get("Location")
    payload = second.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else None
    if location is None and data is None:
        raise MultipartError("second part has neither bytes nor a Location")
    return MediaPart(
        metadata=metadata,
        media_type=second.get("Content-Type"),
        disposition=second.get("Content-Disposition"),
        data=None if location is not None else data,
        location=str(location) if location is not None else None,
    )


def _metadata(part: MIMEPart) -> JsonDict:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        raise MultipartError("metadata part is not a single part")
    try:
        metadata = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise MultipartError("metadata part is not JSON") from None
    if not isinstance(metadata, dict):
        raise MultipartError("metadata part is not a JSON object")
    return metadata
