"""The config file: read with tomllib (cached by gateway.config.tomlcache), validated into the records of model.py.

Stdlib + platformdirs only: the launcher's hot path loads this module. Every invalid
shape becomes one line of `ConfigError` naming the file, the key and what is wrong, so
`xx config validate` can list them all at once. `$VAR` references are resolved against
the environment at load time and kept beside the value (`*_ref`) so nothing resolved is
ever written back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.config import paths, tomlcache
from gateway.config.guards import build_capture, build_guards
from gateway.config.model import (
    _LETTER,
    _REF,
    DIALECT_NAMES,
    LOOPBACK_HOSTS,
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
    ScanSettings,
    Tier,
    Timeouts,
)
from gateway.config.record import replace
from gateway.config.team import build_ledger, build_state

SECRET_KEYS = frozenset({"api_key", "api_keys", "token"})  # values never echoed in a config error


def _known_zone(name: str) -> bool:
    """An IANA zone name, checked without importing zoneinfo (~20 ms, too much for the launcher's start-up):
    the shape, then the system's zone files where it has them (the gateway resolves it with zoneinfo)."""
    if not re.match(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$", name):
        return False
    for root in ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo"):
        if os.path.isdir(root):
            return os.path.isfile(os.path.join(root, name))
    return True


def default_text() -> str:
    return (Path(__file__).parent / "default_config.toml").read_text()


def resolve_ref(value: str, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """`"$VAR"` -> (env value or None, "$VAR"); a literal -> (literal, None)."""
    m = _REF.match(value)
    if not m:
        return value, None
    name = m.group("b") or m.group("n")
    return env.get(name) or None, value


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """The config at `path` (default: XX_CONFIG or the platform path), or the built-in default."""
    env = os.environ if env is None else env
    path = path or paths.config_file()
    source = str(path)
    if not path.exists():
        path, source = Path(__file__).parent / "default_config.toml", "<default>"
    try:
        data = tomlcache.load(path)
    except tomlcache.TomlError as exc:
        raise ConfigError(source, [str(exc)]) from None
    except OSError as exc:
        raise ConfigError(source, [f"cannot read: {exc.strerror or exc}"]) from None
    return _Builder(source, env).build(data)


def parse(text: str, source: str = "<string>", env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    try:
        data = tomlcache.parse_text(text)
    except tomlcache.TomlError as exc:
        raise ConfigError(source, [str(exc)]) from None
    return _Builder(source, env).build(data)


class _Builder:
    """Walks the parsed TOML once, collecting every problem before raising."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env
        self.problems: list[str] = []

    def bad(self, key: str, msg: str) -> None:
        self.problems.append(f"{key}: {msg}")

    def table(self, data: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            self.bad(where + key, f"must be a table, got {type(value).__name__}")
            return {}
        return value

    def get(self, data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = None) -> Any:
        if key not in data:
            return default
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            ok = False
        elif float in kinds and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        else:
            ok = isinstance(value, kinds)
        if not ok:
            names = " or ".join(k.__name__ for k in kinds)
            shown = "" if key in SECRET_KEYS else f" {value!r}"  # a key typed in the wrong place stays unprinted
            self.bad(f"{where}.{key}", f"must be {names}, got {type(value).__name__}{shown}")
            return default
        return value

    def unknown(self, data: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in data:
            if key not in allowed:
                self.bad(f"{where}.{key}", f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def positive(self, data: Mapping[str, Any], key: str, where: str) -> int | None:
        value = self.get(data, key, int, where)
        if value is not None and value <= 0:
            self.bad(f"{where}.{key}", f"must be a positive integer, got {value}")
            return None
        return value

    def build(self, data: Mapping[str, Any]) -> Config:
        self.unknown(data, {"gateway", "launcher", "providers", "pools", "models", "tiers", "breaker", "cache", "aliases", "guards", "capture", "scan", "state", "ledger"}, "(top)")
        gw = self.gateway(self.table(data, "gateway"))
        pools = {name: self.pool(name, t) for name, t in self.tables(data, "pools").items()}
        providers = {name: self.provider(name, t) for name, t in self.tables(data, "providers").items()}
        models = {name: self.model(name, t) for name, t in self.tables(data, "models").items()}
        tiers = {name: self.tier(name, t) for name, t in self.tables(data, "tiers").items()}
        if not gw.default_tier and tiers:  # unset: "free" when there is one, else the first tier
            gw = replace(gw, default_tier="free" if "free" in tiers else next(iter(tiers)))
        self.cross_check(gw, providers, models, pools, tiers)
        br = self.table(data, "breaker")
        self.unknown(br, {"failures", "cooldown_s"}, "breaker")
        breaker = Breaker(
            failures=self.positive(br, "failures", "breaker") or 3,
            cooldown_s=float(self.get(br, "cooldown_s", float, "breaker", 60.0)),
        )
        ca = self.table(data, "cache")
        self.unknown(ca, {"replay", "replay_ttl_s", "replay_max_entries"}, "cache")
        cache = CacheSettings(
            replay=self.get(ca, "replay", bool, "cache", False),
            replay_ttl_s=float(self.get(ca, "replay_ttl_s", float, "cache", 3600.0)),
            replay_max_entries=self.positive(ca, "replay_max_entries", "cache") or 2000,
        )
        la = self.table(data, "launcher")
        self.unknown(la, {"tmux"}, "launcher")
        launcher = Launcher(tmux=self.get(la, "tmux", bool, "launcher", False))
        aliases: dict[str, str] = {}
        for name, cmd in self.table(data, "aliases").items():
            if not isinstance(cmd, str) or not re.match(r"^[A-Za-z0-9_.+-]+$", name):
                self.bad(f"aliases.{name}", "must map a plain alias name to a command string")
            else:
                aliases[name] = cmd
        guards = build_guards(self.table(data, "guards"), self.tables(data, "tiers"), self.bad)
        capture = build_capture(self.table(data, "capture"), self.bad)
        scan = self.scan_settings(self.table(data, "scan"))
        state = build_state(self.table(data, "state"), lambda v: resolve_ref(v, self.env), self.bad)
        ledger = build_ledger(self.table(data, "ledger"), lambda v: resolve_ref(v, self.env), self.bad)
        if self.problems:
            raise ConfigError(self.source, self.problems)
        return Config(gw, providers, models, pools, tiers, breaker, cache, launcher, aliases, self.source, guards=guards, capture=capture, scan=scan,
                      state=state, ledger=ledger)

    def scan_settings(self, t: Mapping[str, Any]) -> ScanSettings:
        self.unknown(t, {"max_age_h", "budget"}, "scan")
        age = float(self.get(t, "max_age_h", float, "scan", 24.0))
        if age <= 0:
            self.bad("scan.max_age_h", f"must be a positive number of hours, got {age}")
        return ScanSettings(max_age_h=age if age > 0 else 24.0, budget=self.positive(t, "budget", "scan") or 12)

    def tables(self, data: Mapping[str, Any], key: str) -> dict[str, Mapping[str, Any]]:
        out = {}
        for name, value in self.table(data, key).items():
            if isinstance(value, Mapping):
                out[name] = value
            else:
                self.bad(f"{key}.{name}", f"must be a table, got {type(value).__name__}")
        return out

    def gateway(self, t: Mapping[str, Any]) -> GatewaySettings:
        w = "gateway"
        self.unknown(t, {"host", "port", "token", "default_tier", "body_limit_mb", "timeouts", "long_context_tokens"}, w)
        host = self.get(t, "host", str, w, "127.0.0.1")
        port = self.get(t, "port", int, w, 8082)
        if not 0 < port < 65536:
            self.bad(f"{w}.port", f"must be 1-65535, got {port}")
        token = token_ref = None
        if "token" in t:
            raw = self.get(t, "token", str, w)
            if raw:
                token, token_ref = resolve_ref(raw, self.env)
        if host not in LOOPBACK_HOSTS and not token:
            self.bad(f"{w}.host", f"{host!r} is not loopback: set gateway.token (a $VAR reference) to bind it")
        to = self.table(t, "timeouts", "gateway.")
        self.unknown(to, {"connect", "first_byte", "idle"}, "gateway.timeouts")
        timeouts = Timeouts(
            connect=float(self.get(to, "connect", float, "gateway.timeouts", Timeouts.connect)),
            first_byte=float(self.get(to, "first_byte", float, "gateway.timeouts", Timeouts.first_byte)),
            idle=float(self.get(to, "idle", float, "gateway.timeouts", Timeouts.idle)),
        )
        limit_mb = self.get(t, "body_limit_mb", float, w, 32)
        return GatewaySettings(
            host=host,
            port=port,
            token=token,
            token_ref=token_ref,
            default_tier=self.get(t, "default_tier", str, w, ""),
            body_limit=int(limit_mb * 1024 * 1024),
            timeouts=timeouts,
            long_context_tokens=self.positive(t, "long_context_tokens", w) or 100_000,
        )

    def flags(self, t: Mapping[str, Any], key: str, where: str) -> dict[str, bool]:
        out = {}
        for k, v in self.table(t, key, where + ".").items():
            if not isinstance(v, bool):
                self.bad(f"{where}.{key}.{k}", "must be true or false")
            else:
                out[k] = v
        return out

    def pool(self, name: str, t: Mapping[str, Any]) -> Pool:
        w = f"pools.{name}"
        self.unknown(t, {"rpm", "rpd", "tpm", "max_concurrency", "day_tz"}, w)
        tz = self.get(t, "day_tz", str, w, "UTC")
        if tz != "UTC" and not _known_zone(tz):
            self.bad(f"{w}.day_tz", f'unknown time zone {tz!r} (e.g. "UTC", "America/Los_Angeles")')
            tz = "UTC"
        return Pool(name, self.positive(t, "rpm", w), self.positive(t, "rpd", w), self.positive(t, "tpm", w),
                    self.positive(t, "max_concurrency", w), tz)

    def dialect(self, t: Mapping[str, Any], w: str) -> str:
        """The provider's `dialect`; `protocol` is its old name, still read so existing files keep working."""
        if "dialect" in t and "protocol" in t:
            self.bad(f"{w}.protocol", "set `dialect` only (`protocol` is its old name), not both")
        key = "protocol" if "protocol" in t and "dialect" not in t else "dialect"
        dialect = self.get(t, key, str, w, "")
        if dialect not in DIALECT_NAMES:
            self.bad(f"{w}.{key}", f"must be one of {', '.join(DIALECT_NAMES)}, got {dialect!r}")
        return dialect

    def provider(self, name: str, t: Mapping[str, Any]) -> Provider:
        w = f"providers.{name}"
        self.unknown(t, {"dialect", "protocol", "base_url", "api_key", "api_keys", "headers", "limits", "pool", "shaping",
                         "privacy"}, w)
        dialect = self.dialect(t, w)
        base_url = self.get(t, "base_url", str, w, "")
        if not re.match(r"^https?://", base_url):
            self.bad(f"{w}.base_url", f"must be an http(s) URL, got {base_url.split('?')[0]!r}")  # a query may hold a key
        keys = self.keys(t, w)
        api_key_ref = keys[0][0] if keys else None
        api_key = next((v for _, v in keys if v), None)  # the first key that is set
        headers = {}
        for k, v in self.table(t, "headers", w + ".").items():
            headers[k] = resolve_ref(str(v), self.env)[0] or ""
        limits = self.table(t, "limits", w + ".")
        pool = self.get(t, "pool", str, w) or self.get(limits, "pool", str, w + ".limits")
        return Provider(
            name=name,
            dialect=dialect,
            base_url=base_url.rstrip("/"),
            api_key=api_key,
            api_key_ref=api_key_ref,
            headers=headers,
            pool=pool,
            shaping=self.flags(t, "shaping", w),
            privacy=dict(self.table(t, "privacy", w + ".")),
            keys=keys,
        )

    def keys(self, t: Mapping[str, Any], w: str) -> tuple[tuple[str, str | None], ...]:
        """`api_key` then `api_keys`, each a "$VAR" reference: ("$VAR", value or None) per distinct reference."""
        raws: list[tuple[str, Any]] = []
        if (one := self.get(t, "api_key", str, w)) is not None:
            raws.append((f"{w}.api_key", one))
        for i, raw in enumerate(self.get(t, "api_keys", list, w, [])):
            raws.append((f"{w}.api_keys[{i}]", raw))
        out: dict[str, str | None] = {}
        for where, raw in raws:
            if raw == "":
                continue
            value, ref = resolve_ref(raw, self.env) if isinstance(raw, str) else (None, None)
            if ref is None:
                self.bad(where, 'must be a "$VAR" reference to an environment variable, never the key itself')
                continue
            out.setdefault(ref, value)
        return tuple(out.items())

    def model(self, name: str, t: Mapping[str, Any]) -> Model:
        w = f"models.{name}"
        self.unknown(t, {"provider", "id", "free", "pool", "rpm", "rpd", "tpm", "pin", "price", "shaping", "context"}, w)
        pin = self.get(t, "pin", list, w, [])
        if not all(isinstance(p, str) for p in pin):
            self.bad(f"{w}.pin", "must be a list of provider names")
            pin = []
        pr = self.table(t, "price", w + ".")
        self.unknown(pr, {"input", "output", "cache_read", "cache_write"}, f"{w}.price")
        price = Price(**{k: float(self.get(pr, k, float, f"{w}.price", 0.0)) for k in ("input", "output", "cache_read", "cache_write")})
        provider = self.get(t, "provider", str, w, "")
        if not provider:
            self.bad(f"{w}.provider", "is required (the name of a [providers.*] table)")
        return Model(
            name=name,
            provider=provider,
            id=self.get(t, "id", str, w, name),
            free=self.get(t, "free", bool, w, False),
            pool=self.get(t, "pool", str, w),
            rpm=self.positive(t, "rpm", w),
            rpd=self.positive(t, "rpd", w),
            tpm=self.positive(t, "tpm", w),
            pin=tuple(pin),
            price=price,
            shaping=self.flags(t, "shaping", w),
            context=self.positive(t, "context", w),
        )

    def tier(self, name: str, t: Mapping[str, Any]) -> Tier:
        w = f"tiers.{name}"
        self.unknown(t, {"letter", "rank", "replay", "guards", *ROLES}, w)
        letter = self.get(t, "letter", str, w, "")
        if not _LETTER.match(letter):
            self.bad(f"{w}.letter", f"must be one lowercase letter or digit, got {letter!r}")
        roles: dict[str, tuple[str, ...]] = {}
        for role in ROLES:
            models = self.get(t, role, list, w)
            if models is None:
                continue
            if not all(isinstance(m, str) for m in models):
                self.bad(f"{w}.{role}", "must be a list of model names")
                continue
            roles[role] = tuple(models)
        rank = self.get(t, "rank", str, w)
        if rank not in (None, "health", "scan"):
            self.bad(f"{w}.rank", f'must be "health" or "scan", got {rank!r}')
        if not roles.get("big") and not rank:
            self.bad(f"{w}.big", 'is required: the cascade of models for the main turns (or set rank = "scan" or "health")')
        return Tier(name, letter, roles, rank, self.get(t, "replay", bool, w, False))

    def cross_check(self, gw: GatewaySettings, providers: dict, models: dict, pools: dict, tiers: dict) -> None:
        for p in providers.values():
            if p.pool and p.pool not in pools:
                self.bad(f"providers.{p.name}.pool", f"unknown pool {p.pool!r} (pools: {', '.join(pools) or 'none'})")
        for m in models.values():
            if m.provider and m.provider not in providers:
                self.bad(f"models.{m.name}.provider", f"unknown provider {m.provider!r} (providers: {', '.join(providers) or 'none'})")
            if m.pool and m.pool not in pools:
                self.bad(f"models.{m.name}.pool", f"unknown pool {m.pool!r} (pools: {', '.join(pools) or 'none'})")
        letters: dict[str, str] = {}
        for t in tiers.values():
            if t.letter in letters:
                self.bad(f"tiers.{t.name}.letter", f"{t.letter!r} is already used by tiers.{letters[t.letter]}")
            letters[t.letter] = t.name
            for role, names in t.roles.items():
                for n in names:
                    if n not in models:
                        self.bad(f"tiers.{t.name}.{role}", f"unknown model {n!r} (models: {', '.join(models) or 'none'})")
        if tiers and gw.default_tier not in tiers:
            self.bad("gateway.default_tier", f"unknown tier {gw.default_tier!r} (tiers: {', '.join(tiers)})")
