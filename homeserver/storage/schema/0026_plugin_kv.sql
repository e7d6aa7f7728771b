-- The per-plugin key-value store behind PluginAPI.kv_* (docs/plugins.md,
-- "The PluginAPI facade"). Each plugin sees only its own keys; values are
-- JSON text, written whole.
CREATE TABLE plugin_kv (
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    -- When the value was last written (ms since the epoch).
    updated_ts BIGINT NOT NULL,
    PRIMARY KEY (plugin, key)
);
