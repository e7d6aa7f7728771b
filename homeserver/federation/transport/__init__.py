"""Talking to other servers over HTTPS: the signed outbound client, server-name discovery, SSRF-safe connections, and X-Matrix request authentication."""
