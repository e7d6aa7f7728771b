"""matrix-nio: uploading and downloading media through nio's own calls.

alice uploads a file with ``AsyncClient.upload`` (the legacy
``/_matrix/media/v3/upload``) and bob downloads it with
``AsyncClient.download`` (the authenticated
``/_matrix/client/v1/media/download``), by its original name and by another;
an encrypted attachment survives the round trip and decrypts; a file of
another server is a DownloadError. bob fetches thumbnails of a real JPEG with
``AsyncClient.thumbnail`` (the authenticated
``/_matrix/client/v1/media/thumbnail``), checked with Pillow.
"""

from __future__ import annotations

import asyncio
import io

import nio
import pytest
from nio.crypto.attachments import decrypt_attachment
from PIL import Image

from tests.e2e.conftest import RunningServer
from tests.e2e.nio_clients import registered_client

pytestmark = pytest.mark.integration

PAYLOAD = bytes(range(256)) * 40


async def _story(server: RunningServer) -> None:
    alice = await registered_client(server, "alice")
    bob = await registered_client(server, "bob")
    try:
        uploaded, _ = await alice.upload(
            io.BytesIO(PAYLOAD),
            content_type="image/png",
            filename="cat.png",
            filesize=len(PAYLOAD),
        )
        assert isinstance(uploaded, nio.UploadResponse), uploaded
        assert uploaded.content_uri.startswith("mxc://")

        got = await bob.download(mxc=uploaded.content_uri)
        assert isinstance(got, nio.MemoryDownloadResponse), got
        assert got.body == PAYLOAD
        assert got.content_type == "image/png"
        assert got.filename == "cat.png"

        renamed = await bob.download(mxc=uploaded.content_uri, filename="dog.png")
        assert isinstance(renamed, nio.MemoryDownloadResponse), renamed
        assert renamed.filename == "dog.png"

        secret, keys = await alice.upload(
            io.BytesIO(b"top secret"),
            content_type="application/octet-stream",
            encrypt=True,
            filesize=len(b"top secret"),
        )
        assert isinstance(secret, nio.UploadResponse), secret
        assert keys is not None
        blob = await bob.download(mxc=secret.content_uri)
        assert isinstance(blob, nio.MemoryDownloadResponse), blob
        assert blob.body != b"top secret"
        plain = decrypt_attachment(
            blob.body, keys["key"]["k"], keys["hashes"]["sha256"], keys["iv"]
        )
        assert plain == b"top secret"

        missing = await bob.download(mxc="mxc://elsewhere.example/abcdefgh")
        assert isinstance(missing, nio.DownloadError), missing

        await _thumbnails(alice, bob)
    finally:
        await alice.close()
        await bob.close()


async def _thumbnails(alice: nio.AsyncClient, bob: nio.AsyncClient) -> None:
    photo = io.BytesIO()
    Image.new("RGB", (1000, 500), (255, 0, 0)).save(photo, "JPEG")
    data = photo.getvalue()
    uploaded, _ = await alice.upload(
        io.BytesIO(data), content_type="image/jpeg", filesize=len(data)
    )
    assert isinstance(uploaded, nio.UploadResponse), uploaded
    server_name, media_id = uploaded.content_uri.removeprefix("mxc://").split("/")

    scaled = await bob.thumbnail(server_name, media_id, 320, 240)
    assert isinstance(scaled, nio.ThumbnailResponse), scaled
    assert scaled.content_type == "image/jpeg"
    image = Image.open(io.BytesIO(scaled.body))
    assert image.format == "JPEG" and image.size == (320, 160)

    cropped = await bob.thumbnail(
        server_name, media_id, 96, 96, method=nio.ResizingMethod.crop
    )
    assert isinstance(cropped, nio.ThumbnailResponse), cropped
    assert Image.open(io.BytesIO(cropped.body)).size == (96, 96)

    # Not an image: a ThumbnailError, not a crash.
    text, _ = await alice.upload(
        io.BytesIO(b"plain"), content_type="text/plain", filesize=5
    )
    assert isinstance(text, nio.UploadResponse), text
    refused = await bob.thumbnail(
        server_name, text.content_uri.rsplit("/", 1)[1], 32, 32
    )
    assert isinstance(refused, nio.ThumbnailError), refused


def test_upload_and_download_through_nio(running_server: RunningServer) -> None:
    asyncio.run(_story(running_server))
