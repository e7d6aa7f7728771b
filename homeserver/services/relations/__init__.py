"""Relations, bundled aggregations and threads (docs/relations.md)."""
