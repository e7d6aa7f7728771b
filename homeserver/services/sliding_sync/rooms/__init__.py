"""The sliding-sync room builder (MSC4186 "Room results"): each room's entry."""
