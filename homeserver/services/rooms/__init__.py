"""Rooms: building, authorising and persisting local events; membership, creation, upgrades, aliases and the room directory."""
