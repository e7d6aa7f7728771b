"""Typed configuration: one frozen attrs class per section, loaded from YAML."""

from homeserver.config.loader import ConfigError, load_config, parse_config
from homeserver.config.model import HomeserverConfig

__all__ = ["ConfigError", "HomeserverConfig", "load_config", "parse_config"]
