"""A federation listener over TLS with a self-signed certificate from synctl init."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import synctl
from tests.ports import free_port

pytestmark = pytest.mark.integration


def test_self_signed_federation_listener(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    http_port, fed_port = free_port(), free_port()
    synctl(
        "init",
        "--data-dir",
        str(data_dir),
        "--server-name",
        f"127.0.0.1:{fed_port}",
        "--http-port",
        str(http_port),
        "--federation-port",
        str(fed_port),
        "--self-signed-tls",
    )
    assert (data_dir / "tls.crt").exists()
    assert (data_dir / "tls.key").stat().st_mode & 0o077 == 0
    synctl("start", "--data-dir", str(data_dir))
    try:
        # The certificate verifies for the IP literal when trusted directly.
        context = ssl.create_default_context(cafile=str(data_dir / "tls.crt"))
        url = f"https://127.0.0.1:{fed_port}/_matrix/key/v2/server"
        with urllib.request.urlopen(url, context=context, timeout=10) as resp:
            body = json.load(resp)
        assert body["server_name"] == f"127.0.0.1:{fed_port}"
        # The client listener no longer serves federation, and vice versa.
        with urllib.request.urlopen(
            f"http://127.0.0.1:{http_port}/_matrix/client/versions", timeout=10
        ) as resp:
            assert resp.status == 200
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(
                f"http://127.0.0.1:{http_port}/_matrix/key/v2/server", timeout=10
            )
        assert info.value.code == 404
    finally:
        synctl("stop", "--data-dir", str(data_dir), check=False)
