"""The config model's sections, one module per area; ``config.model`` composes
them into ``HomeserverConfig``."""
