"""``encode_compact``: the standard library's compact text, faster, with the
standard library's answer where orjson refuses a value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from homeserver.util.compact_json import encode_compact


def _stdlib(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        {"next_batch": "s1_2", "rooms": {"join": {}}, "n": [1, -2, True, None]},
        {"body": 'é ☃ 🎉 "quoted" back\\slash \n\t\u2028 \x00 \x1f'},
        {"z": 1, "a": 2, "m": {"b": [], "a": {}}},  # order kept
        ["tuple", (1, 2)],
        {"big": 2**63 - 1, "neg": -(2**63)},
        {"float": 0.5},
    ],
)
def test_same_text_as_the_standard_library(value: Any) -> None:
    assert encode_compact(value) == _stdlib(value)


def test_what_orjson_refuses_goes_through_the_standard_library() -> None:
    assert encode_compact({"huge": 2**70}) == b'{"huge":1180591620717411303424}'
    assert encode_compact({1: "int key"}) == b'{"1":"int key"}'


def test_what_neither_takes_still_fails() -> None:
    with pytest.raises(TypeError):
        encode_compact({"x": object()})
    with pytest.raises(UnicodeEncodeError):
        encode_compact({"lone": "\ud800"})
