"""Sync: /sync, initial and incremental, and the filters it is asked with."""
