"""Presence: online, unavailable and offline, with idle and offline timeouts."""
