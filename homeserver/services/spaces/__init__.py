"""Spaces: the room hierarchy (``GET /hierarchy``) and room summaries."""
