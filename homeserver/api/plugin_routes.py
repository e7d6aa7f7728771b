"""``/_chatly/plugins/{name}/...``: every plugin's own HTTP resource.

Not a Matrix endpoint: the routes a plugin registers through its
``PluginAPI`` (``register_route``), kept in ``plugins/routes.py``'s table.
Unknown paths get 404 ``M_UNRECOGNIZED`` and a known path with another
method 405, as the rest of the server answers (docs/plugins.md, "HTTP routes").
"""

from __future__ import annotations

from typing import Any

from homeserver.api.http.params import decode_path_param
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.site import Response
from homeserver.plugins.api_types import PluginRequest, PluginResponse
from homeserver.plugins.routes import PREFIX, PluginRouteTable, authenticate
from homeserver.services.accounts.auth import Auth


class PluginRoutesEndpoint:
    """Hands each request to its plugin's handler as a ``PluginRequest`` and
    renders the answer."""

    # The router compiles only ``{name}`` placeholders and takes the rest as
    # a regex, so the tail may hold slashes. The tail is matched against the
    # plugin's routes still percent-encoded (from the raw path), so an
    # encoded ``/`` stays inside one path parameter.
    PATTERNS = [PREFIX + "/{plugin}(?P<rest>/.*)"]

    def __init__(self, auth: Auth, table: PluginRouteTable) -> None:
        self.auth = auth
        self.table = table

    async def _dispatch(self, request: ApiRequest, plugin: str) -> Any:
        rest = "/" + request.path.split("/", 4)[4]
        route, raw_params = self.table.resolve(plugin, request.method, rest)
        params = {k: decode_path_param(k, v) for k, v in raw_params.items()}
        user = None
        if route.require_auth:
            user = await authenticate(
                self.auth, request.headers, request.query, request.client_ip
            )
        result = await route.handler(
            PluginRequest(
                method="GET" if request.method == "HEAD" else request.method,
                path=rest,
                path_params=params,
                query={k: list(v) for k, v in request.query.items()},
                headers=dict(request.headers),
                body=request.body,
                client_ip=request.client_ip,
                user=user,
            )
        )
        if isinstance(result, PluginResponse):
            return Response(
                result.body,
                code=result.code,
                content_type=result.content_type,
                headers=dict(result.headers),
            )
        return result

    async def on_GET(self, request: ApiRequest, plugin: str, rest: str) -> Any:
        return await self._dispatch(request, plugin)

    async def on_PUT(self, request: ApiRequest, plugin: str, rest: str) -> Any:
        return await self._dispatch(request, plugin)

    async def on_POST(self, request: ApiRequest, plugin: str, rest: str) -> Any:
        return await self._dispatch(request, plugin)

    async def on_DELETE(self, request: ApiRequest, plugin: str, rest: str) -> Any:
        return await self._dispatch(request, plugin)
