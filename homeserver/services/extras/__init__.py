"""Smaller client features: OpenID tokens, TURN credentials, server notices,
and the legacy endpoints Synapse still serves (/events, /initialSync)."""
