"""Media over federation: serving, fetching, caching."""
