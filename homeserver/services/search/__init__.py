"""Server-side search over room events."""
