"""Who a gateway is: its config (path and hash) and the key variables it holds (names, fingerprints).

The launcher and the gateway compute the same description from the same inputs — the config
file's bytes and an environment — so the launcher can tell whether a running gateway serves
*its* config with *its* keys before handing an agent to it. Values never leave this module:
a key is reported by its variable name and a short fingerprint of its value, which changes
when the value changes and cannot be turned back into the key.

Stdlib only (hashlib): the launcher's hot path imports it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gateway.config import tomlcache
from gateway.config.model import _REF

DEFAULT_SOURCE = "<default>"
DEMO_ENV = "XX_DEMO"  # set to "1" by `xx demo` for its own gateway


def default_path() -> Path:
    return Path(__file__).parent / "default_config.toml"


def source_path(source: str) -> Path:
    """The file a config `source` was read from (the packaged default for "<default>")."""
    return default_path() if source == DEFAULT_SOURCE else Path(source)


def config_hash(source: str) -> str | None:
    """12 hex digits of SHA-256 over the config file's bytes; None when it cannot be read.

    Bytes, not the parsed records: two gateways with the same hash were built from the same
    file, comments included, and nothing resolved (no secret) takes part in it.
    """
    try:
        return hashlib.sha256(source_path(source).read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def fingerprint(value: str | None) -> str | None:
    """8 hex digits of SHA-256 of a key's value (None when unset): tells values apart, reveals nothing."""
    if not value:
        return None
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, Mapping):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from _strings(value)


def key_names(source: str) -> list[str]:
    """Every variable the config references as "$VAR" (API keys, tokens, header values), sorted."""
    try:
        data = tomlcache.load(source_path(source))
    except (OSError, ValueError):
        return []
    names = set()
    for text in _strings(data):
        m = _REF.match(text)
        if m:
            names.add(m.group("b") or m.group("n"))
    return sorted(names)


def describe(source: str, env: Mapping[str, str], *, demo: bool = False) -> dict[str, Any]:
    """The identity document `/health` carries and the launcher expects.

    `keys` maps each referenced variable to the fingerprint of its value in `env` (None: unset).
    """
    path = source if source == DEFAULT_SOURCE else str(Path(source).resolve())
    return {
        "config": path,
        "config_hash": config_hash(source),
        "keys": {name: fingerprint(env.get(name)) for name in key_names(source)},
        "demo": demo,
    }


def key_differences(expected: Mapping[str, str | None], served: Mapping[str, str | None]) -> list[str]:
    """Why a gateway's keys are not the launcher's, one phrase per variable (empty: compatible).

    Only variables set in the launcher's environment count: a gateway holding a key the
    launching shell lacks serves that shell at least as well, and restarting it would not.
    """
    out = []
    for name, fp in sorted(expected.items()):
        if fp is None:
            continue
        theirs = served.get(name)
        if theirs is None:
            out.append(f"{name} was set after the gateway started")
        elif theirs != fp:
            out.append(f"{name} changed since the gateway started")
    return out
