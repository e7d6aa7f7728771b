"""Media across Chatly and a real Synapse, both ways: each server's users
download the other server's files and thumbnails, on the authenticated
(client v1) and the legacy (media v3) routes. Synapse fetches ours with the
federation media endpoint (authenticated route) or the legacy download with
``allow_remote=false`` (legacy route); we fetch Synapse's with the federation
endpoint. Both servers run with ``enable_authenticated_media`` off so that
the legacy routes serve new media (tests/interop/synapse.py, chatly.py)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.interop.chatly import Chatly
from tests.interop.client import Client
from tests.interop.synapse import Synapse
from tests.media.images import opened, photo

CLIENT = "/_matrix/client/v1/media"
LEGACY = "/_matrix/media/v3"


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return (
                resp.status,
                {k.lower(): v for k, v in resp.headers.items()},
                resp.read(),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def _upload(client: Client, data: bytes, ctype: str, name: str) -> str:
    req = urllib.request.Request(
        f"{client.base_url}{LEGACY}/upload?filename={name}",
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {client.token}", "Content-Type": ctype},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        uri = json.loads(resp.read())["content_uri"]
    assert uri.startswith("mxc://")
    return str(uri)


def _split(uri: str) -> tuple[str, str]:
    server, media_id = uri[len("mxc://") :].split("/", 1)
    return server, media_id


def _logged(paths: list[Path], needle: str) -> list[str]:
    lines = []
    for path in paths:
        try:
            lines += [
                line
                for line in path.read_text(errors="replace").splitlines()
                if needle in line
            ]
        except OSError:
            pass
    return lines


def test_synapse_downloads_our_media(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    image = photo(640, 480)
    server, mid = _split(_upload(alice, image, "image/jpeg", "cat.jpg"))
    assert server == chatly.server_name

    code, headers, body = _get(
        f"{synapse.client_url}{CLIENT}/download/{server}/{mid}", bob.token
    )
    assert code == 200, body[:300]
    assert body == image
    assert headers["content-type"] == "image/jpeg"
    assert "cat.jpg" in headers.get("content-disposition", "")
    assert _logged(chatly.log_files(), f"/_matrix/federation/v1/media/download/{mid}")

    code, headers, body = _get(
        f"{synapse.client_url}{CLIENT}/thumbnail/{server}/{mid}"
        "?width=32&height=32&method=crop",
        bob.token,
    )
    assert code == 200, body[:300]
    assert opened(body).size == (32, 32)


def test_synapse_legacy_download_of_our_media(
    chatly: Chatly, synapse: Synapse, alice: Client
) -> None:
    data = b"legacy bytes \x00\xff" * 100
    server, mid = _split(_upload(alice, data, "application/octet-stream", "l.bin"))
    code, _, body = _get(f"{synapse.client_url}{LEGACY}/download/{server}/{mid}")
    assert code == 200, body[:300]
    assert body == data
    fetched = _logged(chatly.log_files(), f"/download/{server}/{mid}?")
    assert any("allow_remote=false" in line for line in fetched), fetched


def test_we_download_synapse_media(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    image = photo(320, 200)
    server, mid = _split(_upload(bob, image, "image/jpeg", "dog.jpg"))
    assert server == synapse.server_name

    code, headers, body = _get(
        f"{chatly.client_url}{CLIENT}/download/{server}/{mid}", alice.token
    )
    assert code == 200, body[:300]
    assert body == image
    assert headers["content-type"] == "image/jpeg"
    assert "dog.jpg" in headers.get("content-disposition", "")
    assert _logged(synapse.log_files(), f"/_matrix/federation/v1/media/download/{mid}")

    # Cached: served again, and thumbnailed here from the cached original.
    code, _, again = _get(f"{chatly.client_url}{LEGACY}/download/{server}/{mid}")
    assert code == 200 and again == image
    code, headers, thumb = _get(
        f"{chatly.client_url}{CLIENT}/thumbnail/{server}/{mid}"
        "?width=32&height=32&method=crop",
        alice.token,
    )
    assert code == 200, thumb[:300]
    assert opened(thumb).size == (32, 32)
    assert (
        len(
            _logged(synapse.log_files(), f"/_matrix/federation/v1/media/download/{mid}")
        )
        == 1
    )


def test_we_legacy_download_synapse_media(
    chatly: Chatly, synapse: Synapse, bob: Client
) -> None:
    data = b"from synapse" * 50
    server, mid = _split(_upload(bob, data, "text/plain", "s.txt"))
    code, headers, body = _get(f"{chatly.client_url}{LEGACY}/download/{server}/{mid}")
    assert code == 200, body[:300]
    assert body == data
    assert headers["content-type"].startswith("text/plain")


def test_missing_media_is_404_both_ways(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    code, _, _ = _get(
        f"{chatly.client_url}{CLIENT}/download/{synapse.server_name}/nosuchmedia1",
        alice.token,
    )
    assert code == 404
    code, _, _ = _get(
        f"{synapse.client_url}{CLIENT}/download/{chatly.server_name}/nosuchmedia2",
        bob.token,
    )
    assert code == 404
