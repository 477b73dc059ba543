"""Team tokens: one client token per person or machine, stored hashed, each request attributed.

Where they live: in PostgreSQL (`xx_tokens`) when `[ledger] url` is set, so every instance
of a team gateway sees the same list; otherwise in `tokens.json` in the state directory.
Only a SHA-256 of each token is stored: tokens are 192 random bits, so a fast hash is as
safe as a slow one and costs nothing per request. The clear token is printed once, by
`xx gateway token create`.

Budgets (requests and/or dollars per UTC day) are checked at the gate against the ledger's
count for the day (refreshed every couple of seconds; the SQLite ledger too, so a restart
keeps the day's spend) plus what this instance admitted whose rows the ledger does not have
yet; a token over budget gets the client dialect's 429 with the time of the reset.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PREFIX = "xxt_"
DAY = 86400.0
STALE_S = 600.0  # an admitted request with no ledger row after this long wrote none (refused before the proxy)
# The token name of the request being served (set by the auth gate, read where the row is written).
current: contextvars.ContextVar[str | None] = contextvars.ContextVar("xx_token", default=None)


@dataclass
class Token:
    name: str
    hash: str
    hint: str  # the first characters, so a person can tell tokens apart in `list`
    created: float
    revoked: float | None = None
    requests_per_day: int | None = None
    usd_per_day: float | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(24)


# -- storage -----------------------------------------------------------------------------

PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS xx_tokens (
    name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,
    revoked DOUBLE PRECISION, requests_per_day INTEGER, usd_per_day DOUBLE PRECISION
)"""


class FileTokens:
    """tokens.json (mode 0600) in the state directory: the single-machine store."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[Token]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        return [Token(**t) for t in data.get("tokens", [])]

    def save(self, tokens: list[Token]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"tokens": [asdict(t) for t in tokens]}, f, indent=1)
        os.replace(tmp, self.path)

    async def aload(self) -> list[Token]:
        return self.load()

    async def aclose(self) -> None:
        return None

    async def upsert(self, token: Token) -> None:
        tokens = [t for t in self.load() if t.name != token.name]
        self.save([*tokens, token])


class PgTokens:
    """The xx_tokens table beside the team's ledger."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._kept: Any = None  # the gateway's refresh reuses one connection; the CLI opens and closes

    async def _conn(self) -> Any:
        import asyncpg

        conn = await asyncpg.connect(self.url, timeout=5)
        await conn.execute(PG_SCHEMA)
        return conn

    async def aload(self) -> list[Token]:
        if self._kept is None or self._kept.is_closed():
            self._kept = await self._conn()
        try:
            rows = await self._kept.fetch(
                "SELECT name, hash, hint, created, revoked, requests_per_day, usd_per_day FROM xx_tokens")
        except Exception:
            self._kept.terminate()
            self._kept = None
            raise
        return [Token(*r) for r in rows]

    async def aclose(self) -> None:
        if self._kept is not None and not self._kept.is_closed():
            await self._kept.close()
        self._kept = None

    async def upsert(self, t: Token) -> None:
        conn = await self._conn()
        try:
            await conn.execute(
                "INSERT INTO xx_tokens VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET "
                "hash = EXCLUDED.hash, hint = EXCLUDED.hint, created = EXCLUDED.created, revoked = EXCLUDED.revoked, "
                "requests_per_day = EXCLUDED.requests_per_day, usd_per_day = EXCLUDED.usd_per_day",
                t.name, t.hash, t.hint, t.created, t.revoked, t.requests_per_day, t.usd_per_day)
        finally:
            await conn.close()


def store_for(ledger_url: str | None, state_dir: Path) -> FileTokens | PgTokens:
    return PgTokens(ledger_url) if ledger_url else FileTokens(state_dir / "tokens.json")


# -- the gateway's view ------------------------------------------------------------------

class Registry:
    """Active tokens by hash, and each one's spend today; refreshed by `refresh` on a timer."""

    def __init__(self, store: FileTokens | PgTokens, clock: Any = time.time) -> None:
        self.store = store
        self.clock = clock
        self.by_hash: dict[str, Token] = {}
        self.known_hashes: set[str] = set()  # revoked ones too: a revoked token is refused, not ignored
        self.spent: dict[str, tuple[int, float]] = {}  # name -> (requests, usd) today, from the ledger
        # name -> when this instance admitted each request whose row the last ledger read may lack (oldest first)
        self.admitted: dict[str, list[float]] = {}
        self.day = -1

    async def refresh(self, ledger: Any = None) -> None:
        tokens = await self.store.aload()
        self.known_hashes = {t.hash for t in tokens}
        self.by_hash = {t.hash: t for t in tokens if t.revoked is None}
        if ledger is not None and hasattr(ledger, "token_spend_since"):
            midnight = self.clock() // DAY * DAY
            spent = await ledger.token_spend_since(midnight)
            if int(midnight // DAY) != self.day:  # a new day (or the first read): yesterday's admissions are done
                self.day, self.spent, self.admitted = int(midnight // DAY), {}, {}
            self._settle(spent)
            self.spent = spent

    def _settle(self, spent: dict[str, tuple[int, float]]) -> None:
        """Forget the admissions whose rows the ledger now has, oldest first; keep those still in flight.

        A request's row is written when it ends, so a read during a long answer lacks it: forgetting
        every admission at each read let a token sending in parallel past its budget. One that never
        writes a row is forgotten after STALE_S. Another instance's new rows also settle ours: with
        several instances a request in flight may go uncounted, never one counted twice.
        """
        stale = self.clock() - STALE_S
        for name, times in list(self.admitted.items()):
            landed = spent.get(name, (0, 0.0))[0] - self.spent.get(name, (0, 0.0))[0]
            left = [t for t in times[max(0, landed):] if t > stale]
            if left:
                self.admitted[name] = left
            else:
                del self.admitted[name]

    @property
    def active(self) -> bool:
        return bool(self.known_hashes)

    def lookup(self, presented: str) -> Token | bool | None:
        """The token's record; False for a revoked or unknown `xxt_` token; None when it is not one of ours."""
        if not presented.startswith(PREFIX):
            return None
        h = digest(presented)
        hit = self.by_hash.get(h)
        return hit if hit is not None else False

    def over_budget(self, tok: Token) -> str | None:
        """Why `tok` may not send another request today, or None; counts the request when admitted."""
        today = int(self.clock() // DAY)
        if today != self.day:
            self.day, self.spent, self.admitted = today, {}, {}
        reqs, usd = self.spent.get(tok.name, (0, 0.0))
        reqs += len(self.admitted.get(tok.name, ()))
        if tok.requests_per_day is not None and reqs >= tok.requests_per_day:
            return f"token {tok.name!r} used its {tok.requests_per_day} requests for today"
        if tok.usd_per_day is not None and usd >= tok.usd_per_day:
            return f"token {tok.name!r} spent its ${tok.usd_per_day:g} for today"
        self.admitted.setdefault(tok.name, []).append(self.clock())
        return None

    def reset_at(self) -> float:
        return (self.clock() // DAY + 1) * DAY
