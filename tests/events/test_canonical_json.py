"""Canonical JSON: the spec's examples, escaping, strict mode, properties."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeserver.events.canonical_json import (
    MAX_SAFE_INTEGER,
    MIN_SAFE_INTEGER,
    InvalidCanonicalJson,
    check_canonical_json_values,
    encode_canonical_json,
)

# appendices.md "Canonical JSON" > "Examples": (input JSON, canonical output).
SPEC_EXAMPLES = [
    ("{}", "{}"),
    ('{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}'),
    ('{"b": "2", "a": "1"}', '{"a":"1","b":"2"}'),
    ('{"b":"2","a":"1"}', '{"a":"1","b":"2"}'),
    (
        """{"auth": {"success": true, "mxid": "@john.doe:example.com",
        "profile": {"display_name": "John Doe", "three_pids": [
        {"medium": "email", "address": "john.doe@example.org"},
        {"medium": "msisdn", "address": "123456789"}]}}}""",
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John'
        ' Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},'
        '{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ),
    ('{"a": "日本語"}', '{"a":"日本語"}'),
    ('{"本": 2, "日": 1}', '{"日":1,"本":2}'),
    ('{"a": "\\u65E5"}', '{"a":"日"}'),
    ('{"a": null}', '{"a":null}'),
]


@pytest.mark.parametrize(("given_json", "expected"), SPEC_EXAMPLES)
def test_spec_examples(given_json: str, expected: str) -> None:
    value = json.loads(given_json)
    assert encode_canonical_json(value) == expected.encode("utf-8")
    assert encode_canonical_json(value, strict=True) == expected.encode("utf-8")


def test_spec_example_negative_zero_and_exponent() -> None:
    # The spec's last example, {"a": -0, "b": 1e10} -> {"a":0,"b":10000000000},
    # is about numbers that are integers; as Python ints that is what we emit.
    assert encode_canonical_json({"a": -0, "b": 10**10}) == b'{"a":0,"b":10000000000}'
    # Parsed by Python, 1e10 is a float: strict mode (v6+) rejects it, and lax
    # mode (v1-v5) keeps Python's repr, as Synapse does, so that hashes of old
    # events carrying floats still match.
    parsed = json.loads('{"a": -0, "b": 1e10}')
    with pytest.raises(InvalidCanonicalJson):
        encode_canonical_json(parsed, strict=True)
    assert encode_canonical_json(parsed) == b'{"a":0,"b":10000000000.0}'


@pytest.mark.parametrize(
    ("char", "escaped"),
    [
        ("\b", "\\b"),
        ("\t", "\\t"),
        ("\n", "\\n"),
        ("\f", "\\f"),
        ("\r", "\\r"),
        ('"', '\\"'),
        ("\\", "\\\\"),
        ("\x00", "\\u0000"),
        ("\x0b", "\\u000b"),
        ("\x1f", "\\u001f"),
        ("\x7f", "\x7f"),  # DEL is not a control character in the grammar
        ("/", "/"),  # no escaping of the solidus
        ("\u2028", "\u2028"),
        ("\U0001f600", "\U0001f600"),  # astral characters as raw UTF-8
    ],
)
def test_string_escaping_is_the_shortest_form(char: str, escaped: str) -> None:
    assert encode_canonical_json({"k": char}) == f'{{"k":"{escaped}"}}'.encode()


def test_keys_sort_by_code_point_not_utf16() -> None:
    # U+FF61 sorts before U+1F600 by code point, though after it in UTF-16.
    value = {"\U0001f600": 1, "\uff61": 2, "a": 3, "B": 4}
    assert encode_canonical_json(value) == '{"B":4,"a":3,"｡":2,"😀":1}'.encode()


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        0.5,
        -0.0,
        {"a": [1, {"b": 2.5}]},
        [[[[1.0]]]],
        MAX_SAFE_INTEGER + 1,
        MIN_SAFE_INTEGER - 1,
        {"depth": 2**63},
        math.nan,
        math.inf,
        {"x": -math.inf},
        {1: "non-string key"},
    ],
)
def test_strict_mode_rejects(value: Any) -> None:
    with pytest.raises(InvalidCanonicalJson):
        check_canonical_json_values(value)
    with pytest.raises(InvalidCanonicalJson):
        encode_canonical_json(value, strict=True)


def test_strict_mode_accepts_the_boundaries_and_booleans() -> None:
    value = {"max": MAX_SAFE_INTEGER, "min": MIN_SAFE_INTEGER, "t": True, "f": False}
    check_canonical_json_values(value)
    assert encode_canonical_json(value, strict=True) == (
        b'{"f":false,"max":9007199254740991,"min":-9007199254740991,"t":true}'
    )


def test_strict_error_names_the_path() -> None:
    with pytest.raises(InvalidCanonicalJson, match=r"\$\.content\.list\[1\]"):
        check_canonical_json_values({"content": {"list": [1, 2.0]}})


@pytest.mark.parametrize("value", [math.nan, math.inf, {"a": [-math.inf]}])
def test_lax_mode_still_rejects_non_finite_floats(value: Any) -> None:
    with pytest.raises(InvalidCanonicalJson):
        encode_canonical_json(value)


def test_lone_surrogates_are_rejected() -> None:
    with pytest.raises(InvalidCanonicalJson):
        encode_canonical_json({"a": "\ud800"})


def test_lax_mode_allows_big_integers() -> None:
    assert encode_canonical_json({"a": 2**64}) == b'{"a":18446744073709551616}'


def test_deep_nesting_does_not_overflow_the_strict_check() -> None:
    value: Any = 1
    for _ in range(5000):
        value = [value]
    check_canonical_json_values(value)


# --- properties --------------------------------------------------------------

safe_ints = st.integers(min_value=MIN_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
json_scalars = st.none() | st.booleans() | safe_ints | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
def test_encoding_round_trips_and_is_deterministic(value: Any) -> None:
    encoded = encode_canonical_json(value, strict=True)
    assert json.loads(encoded) == value
    assert encode_canonical_json(json.loads(encoded)) == encoded
    # No insignificant whitespace and the same bytes as the spec's reference code.
    reference = json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode("UTF-8")
    assert encoded == reference


@given(st.dictionaries(st.text(), json_values, max_size=8))
def test_object_keys_come_out_sorted(value: dict[str, Any]) -> None:
    encoded = encode_canonical_json(value)
    pairs = json.loads(encoded, object_pairs_hook=lambda pairs: pairs)
    keys = [key for key, _ in pairs]
    assert keys == sorted(keys)
    # Insertion order never matters.
    reversed_value = dict(reversed(list(value.items())))
    assert encode_canonical_json(reversed_value) == encoded


@st.composite
def values_with_a_float(draw: st.DrawFn) -> Any:
    """A JSON value with a float (possibly NaN/inf) buried somewhere inside."""
    value: Any = draw(st.floats())
    for wrapper in draw(st.lists(st.sampled_from(["list", "dict"]), max_size=5)):
        sibling = draw(json_values)
        value = [sibling, value] if wrapper == "list" else {"a": sibling, "b": value}
    return value


@given(values_with_a_float())
def test_strict_mode_rejects_any_float_anywhere(value: Any) -> None:
    with pytest.raises(InvalidCanonicalJson):
        encode_canonical_json(value, strict=True)
