"""Tests for the pure protocol core in homeserver/events."""
