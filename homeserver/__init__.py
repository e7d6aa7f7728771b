"""Chatly: a Matrix-compatible federated chat homeserver on Twisted."""

__version__ = "0.1.0"
