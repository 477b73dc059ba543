"""Several API keys per provider: fingerprints, retirement and the choice of the key with most headroom.

Free limits are per account, so every key is its own quota owner: the gateway spreads
requests over the keys it holds and a key the provider refuses (401/403) is retired alone,
not the model. A key is named everywhere (ledger, events, views) by a short fingerprint of
its value, never the value; a rotated value gets a new fingerprint, so it starts un-retired.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from gateway.config import Provider

NO_KEY = ""  # the fingerprint of "no key" (a local server): one quota owner


@lru_cache(maxsize=256)
def fingerprint(value: str | None) -> str:
    """8 hex digits of SHA-256: enough to tell a user's keys apart, useless to recover one."""
    if not value:
        return NO_KEY
    return hashlib.sha256(value.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Key:
    ref: str  # "$VAR"
    value: str | None  # None when the variable is unset
    fp: str

    @property
    def usable(self) -> bool:
        return self.value is not None


def keys_of(provider: Provider) -> list[Key]:
    """The provider's keys in config order; one keyless entry for a provider that needs none."""
    if not provider.keys:
        if provider.api_key_ref:  # a record built in code, not by the loader
            return [Key(provider.api_key_ref, provider.api_key, fingerprint(provider.api_key))]
        return [Key("", None, NO_KEY)]
    return [Key(ref, value, fingerprint(value)) for ref, value in provider.keys]


def default_fp(provider: Provider) -> str:
    """The key an attempt without an explicit choice uses (the old single-key path)."""
    return fingerprint(provider.api_key)


class KeyRing:
    """Which keys the provider refused: retired until the value changes (new fingerprint) or a reset."""

    def __init__(self) -> None:
        self._retired: dict[str, str] = {}  # fp -> reason

    def retire(self, fp: str, reason: str) -> None:
        if fp != NO_KEY:
            self._retired[fp] = reason

    def retired(self, fp: str) -> str | None:
        return self._retired.get(fp)

    def reinstate(self, fp: str | None = None) -> None:
        """Forget one retirement (or all): `xx models reset`, or the user fixed the key."""
        if fp is None:
            self._retired.clear()
        else:
            self._retired.pop(fp, None)

    def active(self, keys: Iterable[Key]) -> list[Key]:
        return [k for k in keys if (k.usable or not k.ref) and k.fp not in self._retired]


def pick(keys: list[Key], headroom: Callable[[Key], float]) -> Key | None:
    """The key with the most headroom (0..1, higher is more room); config order breaks ties."""
    best: tuple[float, int, Key] | None = None
    for i, k in enumerate(keys):
        room = headroom(k)
        if room <= 0:
            continue
        if best is None or room > best[0]:
            best = (room, i, k)
    return best[2] if best else None
