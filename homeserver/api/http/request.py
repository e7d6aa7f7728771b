"""The transport-independent request an endpoint sees.

Built from a Twisted request by the site, or from a WebSocket frame later, so
endpoints never touch Twisted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

import attrs

from homeserver.api.http.body import RequestBody, validate_body
from homeserver.errors import BadJson, InvalidParam, MissingParam, NotJson
from homeserver.types import JsonDict
from homeserver.util.json_values import find_bad_value, may_hold_bad_value

B = TypeVar("B", bound=RequestBody)


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not valid JSON")


@attrs.define
class ApiRequest:
    """One API request: method, path, query, headers and raw body."""

    method: str
    path: str
    query: dict[str, list[str]] = attrs.field(factory=dict)
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    client_ip: str = "-"
    # The request target exactly as sent (path and query, still encoded):
    # what an X-Matrix signature covers.
    uri: str = ""
    # Filled in by authentication, for logs and metrics.
    requester: Any = None
    _json: Any = attrs.field(default=None, init=False)

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower())

    @property
    def user_agent(self) -> str | None:
        """The User-Agent header."""
        return self.header("user-agent")

    def json(
        self,
        allow_empty: bool = False,
        unchecked: Iterable[str] = (),
        check_values: bool = True,
    ) -> JsonDict:
        """The body as a JSON object.

        Every string in it (keys too) must be free of NUL characters, every
        integer within the canonical JSON range and every number finite
        (``homeserver/util/json_values.py``).

        Args:
            allow_empty: treat an empty body as ``{}``.
            unchecked: top-level keys whose values the caller checks item by
                item instead (the PDUs and EDUs of a federation transaction,
                each of which is dropped on its own).
            check_values: False only to read the body as sent (the X-Matrix
                signature check); whoever uses it checks it again.

        Raises:
            MatrixError: 400 M_NOT_JSON if it is not JSON, M_BAD_JSON if it is
                JSON but not an object (spec: "Common error codes"), or holds a
                value that breaks those rules (the message names the field).
        """
        if self._json is None:
            self._json = self._parse_body(allow_empty)
        if check_values and may_hold_bad_value(self.body):
            problem = find_bad_value(self._json, skip=unchecked)
            if problem is not None:
                raise BadJson(problem)
        return self._json  # type: ignore[no-any-return]

    def _parse_body(self, allow_empty: bool) -> JsonDict:
        if allow_empty and not self.body.strip():
            return {}
        try:
            value = json.loads(
                self.body.decode("utf-8"), parse_constant=_reject_constant
            )
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise NotJson("Content not JSON.") from None
        if not isinstance(value, dict):
            raise BadJson("Content must be a JSON object.")
        return value

    def parse(self, cls: type[B], allow_empty: bool = False) -> B:
        """The body validated as the request-body model ``cls``.

        Unknown keys are ignored, as the spec asks of servers.

        Args:
            cls: the model (``api/http/body.py``).
            allow_empty: treat an empty body as ``{}``.

        Raises:
            MatrixError: 400 M_NOT_JSON, or M_BAD_JSON, M_MISSING_PARAM or
                M_INVALID_PARAM naming the offending field.
        """
        return validate_body(cls, self.json(allow_empty=allow_empty))

    def query_str(
        self, name: str, default: str | None = None, required: bool = False
    ) -> str | None:
        """A query parameter, or ``default``."""
        values = self.query.get(name)
        if not values:
            if required:
                raise MissingParam(name)
            return default
        return values[0]

    def query_int(self, name: str, default: int | None = None) -> int | None:
        """An integer query parameter; 400 M_INVALID_PARAM if it is not one,
        or does not fit the 64-bit integers the databases store."""
        value = self.query_str(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise InvalidParam(f"Query parameter {name!r} must be an integer") from None
        if not -(2**63) <= number < 2**63:
            raise InvalidParam(f"Query parameter {name!r} is out of range")
        return number

    def query_bool(self, name: str, default: bool = False) -> bool:
        """A true/false query parameter."""
        value = self.query_str(name)
        if value is None:
            return default
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise InvalidParam(f"Query parameter {name!r} must be true or false")

    def access_token(self) -> str | None:
        """The access token from the Authorization header or the query string."""
        auth = self.header("authorization")
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
        return self.query_str("access_token")
