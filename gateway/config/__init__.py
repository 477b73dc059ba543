"""Everything the launcher may import from the gateway: the config records, their loader, paths.

Importing this package never pulls in the server (Quart, aiohttp) or the launcher; a test checks it.
"""

from gateway.config.load import default_text, load, parse, resolve_ref
from gateway.config.model import (
    DIALECT_NAMES,
    LOOPBACK_HOSTS,
    PROTOCOLS,
    ROLES,
    Breaker,
    CacheSettings,
    Config,
    ConfigError,
    GatewaySettings,
    Launcher,
    Model,
    Pool,
    Price,
    Provider,
    Tier,
    Timeouts,
)

__all__ = [
    "DIALECT_NAMES",
    "LOOPBACK_HOSTS",
    "PROTOCOLS",
    "ROLES",
    "Breaker",
    "CacheSettings",
    "Config",
    "ConfigError",
    "GatewaySettings",
    "Launcher",
    "Model",
    "Pool",
    "Price",
    "Provider",
    "Tier",
    "Timeouts",
    "default_text",
    "load",
    "parse",
    "resolve_ref",
]
