"""The one error type of the server, mapped to Matrix ``{errcode, error}`` JSON.

Spec: client-server API, "Standard error response".
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]


class Codes:
    """Matrix error codes used by the server."""

    FORBIDDEN = "M_FORBIDDEN"
    UNKNOWN_TOKEN = "M_UNKNOWN_TOKEN"
    GUEST_ACCESS_FORBIDDEN = "M_GUEST_ACCESS_FORBIDDEN"
    MISSING_TOKEN = "M_MISSING_TOKEN"
    BAD_JSON = "M_BAD_JSON"
    NOT_JSON = "M_NOT_JSON"
    NOT_FOUND = "M_NOT_FOUND"
    LIMIT_EXCEEDED = "M_LIMIT_EXCEEDED"
    UNRECOGNIZED = "M_UNRECOGNIZED"
    UNKNOWN = "M_UNKNOWN"
    UNAUTHORIZED = "M_UNAUTHORIZED"
    USER_DEACTIVATED = "M_USER_DEACTIVATED"
    USER_LOCKED = "M_USER_LOCKED"
    USER_IN_USE = "M_USER_IN_USE"
    INVALID_USERNAME = "M_INVALID_USERNAME"
    EXCLUSIVE = "M_EXCLUSIVE"
    UNKNOWN_DEVICE = "M_UNKNOWN_DEVICE"
    APPSERVICE_LOGIN_UNSUPPORTED = "M_APPSERVICE_LOGIN_UNSUPPORTED"
    MISSING_PARAM = "M_MISSING_PARAM"
    INVALID_PARAM = "M_INVALID_PARAM"
    TOO_LARGE = "M_TOO_LARGE"
    NOT_YET_UPLOADED = "M_NOT_YET_UPLOADED"
    RESOURCE_LIMIT_EXCEEDED = "M_RESOURCE_LIMIT_EXCEEDED"
    CANNOT_OVERWRITE_MEDIA = "M_CANNOT_OVERWRITE_MEDIA"
    PROFILE_TOO_LARGE = "M_PROFILE_TOO_LARGE"
    KEY_TOO_LARGE = "M_KEY_TOO_LARGE"
    WRONG_ROOM_KEYS_VERSION = "M_WRONG_ROOM_KEYS_VERSION"
    WEAK_PASSWORD = "M_WEAK_PASSWORD"
    UNSUPPORTED_ROOM_VERSION = "M_UNSUPPORTED_ROOM_VERSION"
    INCOMPATIBLE_ROOM_VERSION = "M_INCOMPATIBLE_ROOM_VERSION"
    UNABLE_TO_AUTHORISE_JOIN = "M_UNABLE_TO_AUTHORISE_JOIN"
    UNABLE_TO_GRANT_JOIN = "M_UNABLE_TO_GRANT_JOIN"
    ROOM_IN_USE = "M_ROOM_IN_USE"
    BAD_ALIAS = "M_BAD_ALIAS"
    DUPLICATE_ANNOTATION = "M_DUPLICATE_ANNOTATION"
    THREEPID_NOT_FOUND = "M_THREEPID_NOT_FOUND"
    THREEPID_IN_USE = "M_THREEPID_IN_USE"
    THREEPID_AUTH_FAILED = "M_THREEPID_AUTH_FAILED"
    THREEPID_MEDIUM_NOT_SUPPORTED = "M_THREEPID_MEDIUM_NOT_SUPPORTED"
    THREEPID_DENIED = "M_THREEPID_DENIED"
    SERVER_NOT_TRUSTED = "M_SERVER_NOT_TRUSTED"
    UNKNOWN_POS = "M_UNKNOWN_POS"


class MatrixError(Exception):
    """An error that reaches the client as ``{errcode, error}`` with an HTTP status.

    Args:
        code: the HTTP status code.
        msg: the human-readable ``error`` text.
        errcode: the Matrix ``errcode``.
        additional: extra top-level keys for the JSON body.
        headers: extra HTTP response headers.
    """

    def __init__(
        self,
        code: int,
        msg: str,
        errcode: str = Codes.UNKNOWN,
        additional: JsonDict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.errcode = errcode
        self.additional = dict(additional or {})
        self.headers = dict(headers or {})

    def to_json(self) -> JsonDict:
        """The JSON error body."""
        body: JsonDict = {"errcode": self.errcode, "error": self.msg}
        body.update(self.additional)
        return body


class BadJson(MatrixError):
    """400 M_BAD_JSON: the body has the wrong shape or types."""

    def __init__(self, msg: str) -> None:
        super().__init__(400, msg, Codes.BAD_JSON)


class NotJson(MatrixError):
    """400 M_NOT_JSON: the body is not JSON."""

    def __init__(self, msg: str = "Content not JSON.") -> None:
        super().__init__(400, msg, Codes.NOT_JSON)


class MissingParam(MatrixError):
    """400 M_MISSING_PARAM."""

    def __init__(self, name: str) -> None:
        super().__init__(400, f"Missing parameter: {name}", Codes.MISSING_PARAM)


class InvalidParam(MatrixError):
    """400 M_INVALID_PARAM."""

    def __init__(self, msg: str) -> None:
        super().__init__(400, msg, Codes.INVALID_PARAM)


class IncompatibleRoomVersion(MatrixError):
    """400 M_INCOMPATIBLE_ROOM_VERSION, naming the version (server-server API)."""

    def __init__(self, msg: str, room_version: object) -> None:
        super().__init__(
            400,
            msg,
            Codes.INCOMPATIBLE_ROOM_VERSION,
            additional={"room_version": room_version},
        )


class Forbidden(MatrixError):
    """403 M_FORBIDDEN."""

    def __init__(self, msg: str = "Forbidden", errcode: str = Codes.FORBIDDEN) -> None:
        super().__init__(403, msg, errcode)


class NotFound(MatrixError):
    """404 M_NOT_FOUND."""

    def __init__(self, msg: str = "Not found") -> None:
        super().__init__(404, msg, Codes.NOT_FOUND)


class Unrecognized(MatrixError):
    """404 or 405 M_UNRECOGNIZED: no such endpoint, or not with this method."""

    def __init__(self, code: int = 404, msg: str = "Unrecognized request") -> None:
        super().__init__(code, msg, Codes.UNRECOGNIZED)


class LimitExceeded(MatrixError):
    """429 M_LIMIT_EXCEEDED with ``retry_after_ms`` and a Retry-After header."""

    def __init__(self, retry_after_ms: int) -> None:
        seconds = max(1, (retry_after_ms + 999) // 1000)
        super().__init__(
            429,
            "Too many requests",
            Codes.LIMIT_EXCEEDED,
            additional={"retry_after_ms": retry_after_ms},
            headers={"Retry-After": str(seconds)},
        )


class InteractiveAuthIncomplete(Exception):
    """Raised when user-interactive auth needs another stage.

    Not a MatrixError: the 401 body is the UIA state, not an error object,
    though it may carry ``errcode``/``error`` from a failed stage.
    """

    def __init__(self, body: JsonDict) -> None:
        super().__init__("user-interactive auth incomplete")
        self.body = body
