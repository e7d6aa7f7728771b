"""Prometheus metrics, when enabled in the config."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from homeserver.api.http.request import ApiRequest
from homeserver.api.http.site import Response


class MetricsEndpoint:
    """GET /metrics (and /_synapse/metrics, where Synapse's scrapers look)."""

    PATTERNS = ["/metrics", "/_synapse/metrics"]

    async def on_GET(self, request: ApiRequest) -> Response:
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)
