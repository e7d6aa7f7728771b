"""Reporting content: users report events, rooms and users; admins read the reports."""
