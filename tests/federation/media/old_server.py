"""A stand-in for a server without the federation media endpoint: a small
real HTTP server (twisted.web) that answers like an older Synapse, put on a
test ``Federation`` under its own name. It counts what it was asked."""

from __future__ import annotations

import json
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from homeserver.federation.media import multipart


class OldMediaServer(Resource):
    """Answers media requests for ``server_name``.

    Args:
        files: media ID -> (content type, file name, bytes).
        federation_answer: (status, errcode) for the federation endpoint
            (404 M_UNRECOGNIZED: "no such endpoint"), or None to serve it.
        v3_answer: the same for the legacy v3 download.
        location: serve the federation endpoint as a redirect part to this URL.
    """

    isLeaf = True

    def __init__(
        self,
        server_name: str,
        files: dict[str, tuple[str, str, bytes]],
        federation_answer: tuple[int, str | None] | None = (404, "M_UNRECOGNIZED"),
        v3_answer: tuple[int, str | None] | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__()
        self.server_name = server_name
        self.files = files
        self.federation_answer = federation_answer
        self.v3_answer = v3_answer
        self.location = location
        self.seen: list[str] = []

    def render_GET(self, request: Request) -> bytes:  # noqa: N802 - Twisted
        uri = request.uri.decode()
        self.seen.append(uri)
        path = request.path.decode()
        media_id = path.rsplit("/", 1)[1]
        if path.startswith("/_matrix/federation/v1/media/download/"):
            return self._federation(request, media_id)
        if path.startswith(f"/_matrix/media/v3/download/{self.server_name}/"):
            if self.v3_answer is not None:
                return _error(request, *self.v3_answer)
            return self._legacy(request, media_id)
        if path.startswith(f"/_matrix/media/r0/download/{self.server_name}/"):
            return self._legacy(request, media_id)
        return _error(request, 404, "M_UNRECOGNIZED")

    def _federation(self, request: Request, media_id: str) -> bytes:
        if self.federation_answer is not None:
            return _error(request, *self.federation_answer)
        if self.location is not None:
            boundary = "b0undary"
            request.setHeader("Content-Type", f"multipart/mixed; boundary={boundary}")
            return (
                f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n"
                f"--{boundary}\r\nLocation: {self.location}\r\n\r\n\r\n"
                f"--{boundary}--\r\n"
            ).encode()
        if media_id not in self.files:
            return _error(request, 404, "M_NOT_FOUND")
        ctype, name, data = self.files[media_id]
        content_type, body = multipart.encode(data, ctype, f'inline; filename="{name}"')
        request.setHeader("Content-Type", content_type)
        return body

    def _legacy(self, request: Request, media_id: str) -> bytes:
        if request.args.get(b"allow_remote") != [b"false"]:
            return _error(request, 400, "M_BAD_REQUEST")
        if media_id not in self.files:
            return _error(request, 404, "M_NOT_FOUND")
        ctype, name, data = self.files[media_id]
        request.setHeader("Content-Type", ctype)
        request.setHeader("Content-Disposition", f'inline; filename="{name}"')
        return data


def _error(request: Request, code: int, errcode: str | None) -> bytes:
    request.setResponseCode(code)
    if errcode is None:
        return b"nope"
    request.setHeader("Content-Type", "application/json")
    return json.dumps({"errcode": errcode, "error": "old server"}).encode()


class OldServer:
    """What ``Federation`` needs of a server: a ``site`` to talk HTTP to."""

    def __init__(self, resource: Resource, reactor: Any) -> None:
        self.resource = resource
        self.site = Site(resource, reactor=reactor)


class SilentMediaServer(Resource):
    """A server that takes requests and never answers them."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def render_GET(self, request: Request) -> Any:  # noqa: N802 - Twisted
        self.seen.append(request.uri.decode())
        return NOT_DONE_YET
