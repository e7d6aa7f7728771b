"""Content repository endpoints (spec: client-server API "Content repository")."""
