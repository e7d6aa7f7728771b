"""Serving other servers: a room's events and state, and queries (profiles, aliases, the room directory)."""
