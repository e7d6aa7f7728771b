"""Outbound federation: per-destination transaction queues and outbound EDUs."""
