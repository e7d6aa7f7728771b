"""The workers wing: several processes of one deployment over PostgreSQL and
Redis (docs/architecture.md, "Workers"; docs/scaling.md).

``roles`` says which process does what; ``redis_bus`` and ``replication``
carry stream positions, wake-ups and cache invalidations between processes.
Services never import this wing: they declare ports, and the composition
binds the remote implementations in worker mode.
"""
