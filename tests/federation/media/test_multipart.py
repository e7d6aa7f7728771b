"""The multipart/mixed format of federation media, both ways, and the file
name of a Content-Disposition."""

from __future__ import annotations

import random

import pytest

from homeserver.federation.errors import HttpResponseError
from homeserver.federation.media import multipart
from homeserver.federation.media.fetch import filename_of, is_unknown_endpoint


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n",
        b"--",
        b"\r\n--\r\n\r",
        random.Random(12).randbytes(70_000),
        bytes(range(256)) * 9,
    ],
    ids=["empty", "crlf", "dashes", "line-ends", "random", "every-byte"],
)
def test_round_trip_keeps_every_byte(data: bytes) -> None:
    ctype, body = multipart.encode(data, "application/octet-stream", "attachment")
    part = multipart.decode(ctype, body)
    assert part.data == data
    assert part.metadata == {}
    assert part.media_type == "application/octet-stream"
    assert part.disposition == "attachment"


def test_location_part() -> None:
    body = (
        b'--B\r\nContent-Type: application/json\r\n\r\n{"k": 1}\r\n'
        b"--B\r\nLocation: https://cdn.example/x?sig=1\r\n\r\n\r\n--B--\r\n"
    )
    part = multipart.decode("multipart/mixed; boundary=B", body)
    assert part.location == "https://cdn.example/x?sig=1"
    assert part.data is None and part.metadata == {"k": 1}


@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        ("application/json", b"{}"),
        ("multipart/mixed", b"--B\r\n\r\n--B--\r\n"),
        (
            "multipart/mixed; boundary=B",
            b"--B\r\nContent-Type: application/json\r\n\r\n{}\r\n--B--\r\n",
        ),
        (
            "multipart/mixed; boundary=B",
            b"--B\r\n\r\n[1]\r\n--B\r\n\r\nabc\r\n--B--\r\n",
        ),
        (
            "multipart/mixed; boundary=B",
            b"--B\r\n\r\nnot json\r\n--B\r\n\r\nx\r\n--B--\r\n",
        ),
        ("multipart/mixed; boundary=\u2603", b""),
    ],
)
def test_malformed_answers_are_refused(ctype: str, body: bytes) -> None:
    with pytest.raises(multipart.MultipartError):
        multipart.decode(ctype, body)


def test_filename_of() -> None:
    assert filename_of('inline; filename="a b.png"') == "a b.png"
    assert filename_of("attachment; filename*=utf-8''%E2%9C%93.txt") == "\u2713.txt"
    assert filename_of("inline") is None
    assert filename_of(None) is None


def test_unknown_endpoint_answers() -> None:
    unrecognized = {"errcode": "M_UNRECOGNIZED"}
    assert is_unknown_endpoint(HttpResponseError(404, unrecognized))
    assert is_unknown_endpoint(HttpResponseError(405, unrecognized))
    assert is_unknown_endpoint(HttpResponseError(400, unrecognized))
    assert is_unknown_endpoint(HttpResponseError(405, None))
    assert not is_unknown_endpoint(HttpResponseError(404, {"errcode": "M_NOT_FOUND"}))
    assert not is_unknown_endpoint(HttpResponseError(404, None))
    assert not is_unknown_endpoint(HttpResponseError(500, unrecognized))
