"""The config's records: frozen values (gateway.config.record) that the loader builds and everyone reads.

Stdlib + platformdirs only: the launcher's hot path loads this module. Every invalid
shape becomes one line of `ConfigError` naming the file, the key and what is wrong, so
`xx config validate` can list them all at once. `$VAR` references are resolved against
the environment at load time and kept beside the value (`*_ref`) so nothing resolved is
ever written back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.config.guards import Capture, Guards
from gateway.config.record import field, record
from gateway.config.team import LedgerSettings, StateSettings, url_secrets

DIALECT_NAMES = ("anthropic", "openai", "responses")  # what a provider may speak: its `dialect` key
PROTOCOLS = DIALECT_NAMES  # the name before the rename to `dialect`
ROLES = ("big", "middle", "small", "long", "think", "web")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_REF = re.compile(r"^\$(?:\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<n>[A-Za-z_][A-Za-z0-9_]*))$")
_LETTER = re.compile(r"^[a-z0-9]$")


class ConfigError(ValueError):
    """One or more problems in a config file; `problems` holds one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


@record
class Timeouts:
    connect: float = 10.0
    first_byte: float = 180.0
    idle: float = 180.0


@record
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8082
    token: str | None = None
    token_ref: str | None = None
    default_tier: str = "free"
    body_limit: int = 32 * 1024 * 1024
    timeouts: Timeouts = field(default_factory=Timeouts)
    long_context_tokens: int = 100_000

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS


@record
class Price:
    """Dollars per million tokens."""

    input: float = 0.0
    output: float = 0.0
    cache_read: float = 0.0
    cache_write: float = 0.0


@record
class Provider:
    name: str
    dialect: str
    base_url: str
    api_key: str | None = None
    api_key_ref: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    pool: str | None = None
    shaping: Mapping[str, bool] = field(default_factory=dict)
    privacy: Mapping[str, Any] = field(default_factory=dict)
    # Every key as ("$VAR", value or None), `api_key` first: each key is its own quota owner
    # (free limits are per account). Empty for a provider that needs no key.
    keys: tuple[tuple[str, str | None], ...] = ()

    @property
    def is_openrouter(self) -> bool:
        return "openrouter.ai" in self.base_url


@record
class Model:
    name: str
    provider: str
    id: str
    free: bool = False
    pool: str | None = None
    rpm: int | None = None
    rpd: int | None = None
    tpm: int | None = None
    pin: tuple[str, ...] = ()
    price: Price = field(default_factory=Price)
    shaping: Mapping[str, bool] = field(default_factory=dict)
    context: int | None = None  # the context window in tokens; None: from the scan, else unknown (no check)


@record
class Pool:
    name: str
    rpm: int | None = None
    rpd: int | None = None
    tpm: int | None = None
    max_concurrency: int | None = None  # requests in flight at once; a burst waits briefly for a slot
    day_tz: str = "UTC"  # the zone whose midnight starts the provider's day (Gemini: "America/Los_Angeles")


@record
class Tier:
    name: str
    letter: str
    roles: Mapping[str, tuple[str, ...]]
    rank: str | None = None
    replay: bool = False

    def models_for(self, role: str) -> tuple[str, ...]:
        """The cascade for a role; roles a tier does not list fall back to big."""
        return self.roles.get(role) or self.roles.get("big", ())


@record
class Breaker:
    failures: int = 3
    cooldown_s: float = 60.0


@record
class CacheSettings:
    replay: bool = False
    replay_ttl_s: float = 3600.0
    replay_max_entries: int = 2000


@record
class Launcher:
    tmux: bool = False


@record
class ScanSettings:
    """`[scan]`: how often the model scan may refresh itself and how many probe requests it may spend."""

    max_age_h: float = 24.0
    budget: int = 12  # OpenRouter's free accounts get 50 requests a day: a scan must not eat them


@record
class Config:
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    providers: Mapping[str, Provider] = field(default_factory=dict)
    models: Mapping[str, Model] = field(default_factory=dict)
    pools: Mapping[str, Pool] = field(default_factory=dict)
    tiers: Mapping[str, Tier] = field(default_factory=dict)
    breaker: Breaker = field(default_factory=Breaker)
    cache: CacheSettings = field(default_factory=CacheSettings)
    launcher: Launcher = field(default_factory=Launcher)
    aliases: Mapping[str, str] = field(default_factory=dict)
    source: str = "<default>"
    guards: Guards = field(default_factory=Guards)
    capture: Capture = field(default_factory=Capture)
    scan: ScanSettings = field(default_factory=ScanSettings)
    state: StateSettings = field(default_factory=StateSettings)  # team mode: gateway.config.team
    ledger: LedgerSettings = field(default_factory=LedgerSettings)

    def tier_for_letter(self, letter: str) -> Tier | None:
        return next((t for t in self.tiers.values() if t.letter == letter), None)

    def tier_named(self, name_or_letter: str) -> Tier | None:
        return self.tiers.get(name_or_letter) or self.tier_for_letter(name_or_letter)

    def pool_of(self, model: Model) -> str | None:
        return model.pool or self.providers[model.provider].pool

    def secrets(self) -> list[str]:
        """Every resolved secret, so logs and errors can scrub them."""
        out = [v for p in self.providers.values() for _, v in p.keys if v]
        out += [p.api_key for p in self.providers.values() if p.api_key and p.api_key not in out]
        if self.gateway.token:
            out.append(self.gateway.token)
        out += url_secrets(self.state.url, self.ledger.url)
        return out
