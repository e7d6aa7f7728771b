"""Bodies of the report endpoints.

Spec: client-server API "Reporting content" (report_content.yaml).
"""

from __future__ import annotations

from homeserver.api.http.body import Int, Omittable, RequestBody, Str


class ReportEventBody(RequestBody):
    """POST /rooms/{roomId}/report/{eventId}: ``reason``, and ``score``
    (removed from the spec in v1.18; still accepted as an integer, as Synapse
    does)."""

    reason: Omittable[Str] = None
    score: Omittable[Int] = None


class ReportBody(RequestBody):
    """POST /rooms/{roomId}/report and /users/{userId}/report."""

    reason: Str
