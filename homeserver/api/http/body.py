"""Typed request bodies: one strict base model, and the one place that validates.

Every JSON body the API reads is declared as a model next to its endpoints
(``api/client/bodies/``, ``api/admin/bodies.py``, ``api/federation/bodies.py``)
and validated by ``validate_body``, through ``ApiRequest.parse``. Its first
problem becomes the Matrix error the spec's "Common error codes" describe,
naming the field by its dotted path (``initial_state.0.state_key: ...``):

- a required field is absent: 400 ``M_MISSING_PARAM``;
- a value outside the range or the set of values a field allows (a bound, a
  length, an enumeration): 400 ``M_INVALID_PARAM``;
- anything else: a wrong type or shape, a NUL character, an integer canonical
  JSON cannot hold: 400 ``M_BAD_JSON``.

Validation is strict, because Matrix is JSON: ``"1"`` is not an integer, ``1``
not a boolean, ``1.0`` not an integer. Unknown keys are ignored, as the spec
asks of servers. Whether a body is JSON at all (``M_NOT_JSON``) and an object
is decided before, by ``ApiRequest.json``. Free-form JSON (event content, a
PDU) is typed ``JsonObject`` and left to whoever owns its rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from homeserver.errors import Codes, MatrixError

# The JSON edge's rules (util/json_values.py: canonical JSON's integers, no
# NUL), which the models apply field by field, with the same messages.
from homeserver.util.json_values import MAX_SAFE_INTEGER, MIN_SAFE_INTEGER, NUL

# Keys longer than this are cut short when a message names them (as there).
_KEY_SHOWN = 60

# pydantic error types that mean "a value the field does not allow".
_INVALID_VALUE_TYPES = frozenset(
    {
        "literal_error",
        "enum",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "multiple_of",
        "string_too_short",
        "string_too_long",
        "too_short",
        "too_long",
        "string_pattern_mismatch",
    }
)

M = TypeVar("M", bound="RequestBody")


def _no_nul(value: Any) -> Any:
    """Refuse anything but a string, and a string holding NUL (PostgreSQL
    cannot store it; SQLite can). Checking the type here too makes a wrong
    type M_BAD_JSON even where a ``Literal`` would call it a wrong value."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    if NUL in value:
        raise PydanticCustomError(
            "nul_character", "must not contain a NUL character (U+0000)"
        )
    return value


def _not_null(value: Any) -> Any:
    """Refuse JSON null for a field that may be left out but is not nullable."""
    if value is None:
        raise PydanticCustomError("null_value", "must not be null")
    return value


def _json_integer(value: Any) -> Any:
    """Refuse an integer outside canonical JSON's range, before any bound of
    the field is checked (so a huge negative is M_BAD_JSON, not a bound)."""
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not MIN_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    ):
        raise PydanticCustomError(
            "integer_out_of_range",
            "integer out of range (canonical JSON allows {min} to {max})",
            {"min": MIN_SAFE_INTEGER, "max": MAX_SAFE_INTEGER},
        )
    return value


# Markers for Annotated types. They go after any Field() bounds, so that they
# run first and the bounds keep their specific errors.
NO_NUL = BeforeValidator(_no_nul)
JSON_INT = BeforeValidator(_json_integer)

T = TypeVar("T")
Omittable = Annotated[T | None, BeforeValidator(_not_null)]
"""A field that may be left out (None then) but not given as null. A plain
``X | None`` field takes null as "left out"."""

Str = Annotated[str, NO_NUL]
"""A JSON string without NUL characters."""
NonEmptyStr = Annotated[str, Field(min_length=1), NO_NUL]
"""A ``Str`` of at least one character (empty is 400 M_INVALID_PARAM)."""
Int = Annotated[int, JSON_INT]
"""A JSON integer canonical JSON can hold."""
NonNegativeInt = Annotated[int, Field(ge=0), JSON_INT]
"""An ``Int`` of at least 0 (less is 400 M_INVALID_PARAM)."""
JsonObject = dict[str, Any]
"""A free-form JSON object; its contents are someone else's to check."""


class RequestBody(BaseModel):
    """The base of every request-body model: strict, frozen, unknown keys ignored.

    Two class variables override the module's errcode mapping where the spec
    (or Synapse, for its admin API) names another code:

    - ``errcode``: every invalid body of the model gets this code;
    - ``field_errcodes``: a field name -> the code for any problem with that
      field's value (its absence is still M_MISSING_PARAM).
    """

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    errcode: ClassVar[str | None] = None
    field_errcodes: ClassVar[Mapping[str, str]] = {}


def validate_body(cls: type[M], data: Any) -> M:
    """``data`` (a parsed JSON object) as a ``cls``.

    Raises:
        MatrixError: 400 M_MISSING_PARAM, M_INVALID_PARAM or M_BAD_JSON (see the
            module doc), its message naming the field.
    """
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise body_error(exc, cls) from None


def _shown(part: str | int) -> str:
    """One step of a field's path, as a message shows it: a key cut short and
    any NUL in it escaped."""
    text = str(part)
    if len(text) > _KEY_SHOWN:
        text = text[:_KEY_SHOWN] + "..."
    return text.replace(NUL, "\\u0000")


def body_error(exc: ValidationError, cls: type[RequestBody]) -> MatrixError:
    """The Matrix error for the first problem pydantic found in a ``cls``."""
    error = exc.errors(include_url=False, include_input=False)[0]
    loc = error["loc"]
    # pydantic places a problem with a mapping's key at (..., key, "[key]").
    of_key = bool(loc) and loc[-1] == "[key]"
    where = ".".join(_shown(part) for part in (loc[:-1] if of_key else loc))
    where = where or "(top level)"
    kind = error["type"]
    errcode = cls.errcode
    if errcode is None and kind == "missing":
        errcode = Codes.MISSING_PARAM
    if errcode is None and loc:
        errcode = cls.field_errcodes.get(str(loc[0]))
    if errcode is None:
        errcode = (
            Codes.INVALID_PARAM if kind in _INVALID_VALUE_TYPES else Codes.BAD_JSON
        )
    message = "missing required field" if kind == "missing" else error["msg"]
    if of_key:
        message = f"a key {message}"
    return MatrixError(400, f"{where}: {message}", errcode)
