"""Simplified sliding sync (MSC4186): the request model, the room list,
connection state, the room builder and the extensions."""
