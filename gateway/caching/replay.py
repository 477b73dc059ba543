"""The exact replay cache: byte-identical answers to byte-for-byte repeated requests.

For reruns, evals and CI, where the same request recurs: a hit costs no upstream call
and no quota. Opt-in (`cache.replay`, a tier's `replay = true`, or `x-xx-replay: 1`),
because an interactive agent expects a fresh sample each time it asks.

The key is a sha256 over the canonical request (dialect, tier and the whole body with
sorted keys, minus fields that vary run to run without changing the answer). The value is
the upstream status, the content-type and the exact response bytes as the list of chunks
the client received, so SSE replays frame for frame. Storage is SQLite (WAL) with a TTL
and an LRU cap on entries (identical requests in flight share one upstream call through
caching/coalesce.py). Everything here is synchronous except the `a*` helpers, which run the
SQLite work in a thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gateway.caching.billing import strip_billing_header
from gateway.config import paths
from gateway.exchange import Usage

KEY_VERSION = 1
KEEP_HEADERS = ("content-type",)
REPLAY_HEADER = "x-xx-replay"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    created REAL NOT NULL,
    last_used REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,
    chunks BLOB NOT NULL,
    n_chunks INTEGER NOT NULL,
    size INTEGER NOT NULL,
    dialect TEXT,
    tier TEXT,
    model TEXT,
    provider TEXT,
    stream INTEGER NOT NULL DEFAULT 0,
    usage TEXT
);
CREATE INDEX IF NOT EXISTS entries_last_used ON entries(last_used);
CREATE INDEX IF NOT EXISTS entries_created ON entries(created);
"""


def default_path() -> Path:
    return paths.cache_dir() / "replay.sqlite3"


def enabled(config_replay: bool, tier_replay: bool, headers: Mapping[str, str]) -> bool:
    """Whether a request may be served from (and stored into) the replay cache.

    The request header wins both ways (`x-xx-replay: 0` opts a single request out), then
    the tier, then the global `cache.replay`.
    """
    value = next((v for k, v in headers.items() if k.lower() == REPLAY_HEADER), None)
    if value is not None:
        return value.strip().lower() in ("1", "true", "yes", "on")
    return tier_replay or config_replay


def canonical(dialect: str, tier: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a request that decides its answer.

    Dropped: who is asking (`metadata.user_id`, OpenAI `user`, Codex `client_metadata`),
    per-session cache hints (`prompt_cache_key`) and Claude Code's per-request billing
    header: all differ between two runs of the same eval without changing the answer.
    """
    b = copy.deepcopy(dict(body))
    meta = b.get("metadata")
    if isinstance(meta, dict):
        meta.pop("user_id", None)
        if not meta:
            del b["metadata"]
    for volatile in ("user", "client_metadata", "prompt_cache_key", "safety_identifier"):
        b.pop(volatile, None)
    strip_billing_header(b, dialect)
    return {"v": KEY_VERSION, "protocol": dialect, "tier": tier, "body": b}  # "protocol": keys stay stable


def make_key(dialect: str, tier: str, body: Mapping[str, Any]) -> str:
    text = json.dumps(
        canonical(dialect, tier, body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode()).hexdigest()


def complete(dialect: str, stream: bool, chunks: list[bytes]) -> bool:
    """Did the upstream finish the response? Only complete answers may be stored."""
    data = b"".join(chunks)
    if not stream:
        try:
            return isinstance(json.loads(data), dict)
        except ValueError:
            return False
    tail = data[-4096:]
    if dialect == "anthropic":
        return b"message_stop" in tail
    if dialect == "responses":
        return b"response.completed" in tail
    return b"[DONE]" in tail


def _pack(chunks: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(c)) + c for c in chunks)


def _unpack(blob: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(blob):
        (n,) = struct.unpack_from(">I", blob, i)
        out.append(bytes(blob[i + 4 : i + 4 + n]))
        i += 4 + n
    return out


@dataclass
class Entry:
    status: int
    headers: dict[str, str]
    chunks: list[bytes]
    stream: bool = False
    dialect: str = ""
    tier: str = ""
    model: str | None = None  # the configured model that answered, for the replayed Exchange
    provider: str | None = None
    usage: Usage = field(default_factory=Usage)  # what the original call used: what a replay saves
    created: float = 0.0
    hits: int = 0

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class ReplayCache:
    """SQLite-backed store; safe to call from several threads (one connection, one lock)."""

    def __init__(
        self,
        path: Path | str,
        ttl_s: float = 3600.0,
        max_entries: int = 2000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.counters = {
            "lookups": 0,
            "hits": 0,
            "misses": 0,
            "expired": 0,
            "stored": 0,
            "evicted": 0,
            "refused": 0,
        }

    key = staticmethod(make_key)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if "protocol" in {row[1] for row in db.execute("PRAGMA table_info(entries)")}:  # a cache from before
                db.execute("ALTER TABLE entries RENAME COLUMN protocol TO dialect")  # the rename to `dialect`
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def get(self, key: str) -> Entry | None:
        now = self.clock()
        with self._lock:
            db = self._conn()
            self.counters["lookups"] += 1
            row = db.execute(
                "SELECT status, headers, chunks, stream, dialect, tier, model, provider, usage, created, hits"
                " FROM entries WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                self.counters["misses"] += 1
                return None
            if row[9] + self.ttl_s <= now:
                db.execute("DELETE FROM entries WHERE key = ?", (key,))
                self.counters["expired"] += 1
                self.counters["misses"] += 1
                return None
            db.execute("UPDATE entries SET last_used = ?, hits = hits + 1 WHERE key = ?", (now, key))
            self.counters["hits"] += 1
        usage = Usage(**json.loads(row[8])) if row[8] else Usage()
        return Entry(
            status=row[0],
            headers=json.loads(row[1]),
            chunks=_unpack(row[2]),
            stream=bool(row[3]),
            dialect=row[4] or "",
            tier=row[5] or "",
            model=row[6],
            provider=row[7],
            usage=usage,
            created=row[9],
            hits=row[10] + 1,
        )

    def put(self, key: str, entry: Entry) -> bool:
        """Store a successful answer; anything but 2xx is refused (returns False)."""
        if not 200 <= entry.status < 300:
            self.counters["refused"] += 1
            return False
        now = self.clock()
        headers = {k.lower(): v for k, v in entry.headers.items() if k.lower() in KEEP_HEADERS}
        blob = _pack(entry.chunks)
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT OR REPLACE INTO entries (key, created, last_used, hits, status, headers, chunks, n_chunks,"
                    " size, dialect, tier, model, provider, stream, usage) VALUES (?,?,?,0,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        key,
                        now,
                        now,
                        entry.status,
                        json.dumps(headers),
                        blob,
                        len(entry.chunks),
                        len(blob) - 4 * len(entry.chunks),
                        entry.dialect,
                        entry.tier,
                        entry.model,
                        entry.provider,
                        int(entry.stream),
                        json.dumps(asdict(entry.usage)),
                    ),
                )
                expired = db.execute("DELETE FROM entries WHERE created <= ?", (now - self.ttl_s,)).rowcount
                (count,) = db.execute("SELECT COUNT(*) FROM entries").fetchone()
                evicted = 0
                if count > self.max_entries:
                    evicted = db.execute(
                        "DELETE FROM entries WHERE key IN"
                        " (SELECT key FROM entries WHERE key != ? ORDER BY last_used ASC, created ASC LIMIT ?)",
                        (key, count - self.max_entries),
                    ).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self.counters["stored"] += 1
            self.counters["expired"] += max(expired, 0)
            self.counters["evicted"] += max(evicted, 0)
        return True

    def stats(self) -> dict[str, Any]:
        now = self.clock()
        with self._lock:
            row = (
                self._conn()
                .execute(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(hits), 0), MIN(created), MAX(last_used),"
                    " COALESCE(SUM(created <= ?), 0) FROM entries",
                    (now - self.ttl_s,),
                )
                .fetchone()
            )
        return {
            "path": str(self.path),
            "entries": row[0],
            "bytes": row[1],
            "hits_stored": row[2],
            "oldest": row[3],
            "last_used": row[4],
            "expired": row[5],
            "ttl_s": self.ttl_s,
            "max_entries": self.max_entries,
            "session": dict(self.counters),
        }

    def entries(self, limit: int = 50) -> list[dict[str, Any]]:
        """Most recently used first; metadata only, never the bodies."""
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT key, dialect, tier, model, provider, status, stream, n_chunks, size, created, last_used, hits"
                    " FROM entries ORDER BY last_used DESC LIMIT ?",
                    (limit,),
                )
                .fetchall()
            )
        now = self.clock()
        cols = (
            "key",
            "dialect",
            "tier",
            "model",
            "provider",
            "status",
            "stream",
            "chunks",
            "bytes",
            "created",
            "last_used",
            "hits",
        )
        out = []
        for r in rows:
            d = dict(zip(cols, r, strict=True))
            d["stream"] = bool(d["stream"])
            d["expires"] = d["created"] + self.ttl_s
            d["expired"] = d["expires"] <= now
            out.append(d)
        return out

    def clear(self, *, expired_only: bool = False) -> int:
        with self._lock:
            db = self._conn()
            if expired_only:
                return db.execute(
                    "DELETE FROM entries WHERE created <= ?", (self.clock() - self.ttl_s,)
                ).rowcount
            return db.execute("DELETE FROM entries").rowcount

    async def aget(self, key: str) -> Entry | None:
        return await asyncio.to_thread(self.get, key)

    async def aput(self, key: str, entry: Entry) -> bool:
        return await asyncio.to_thread(self.put, key, entry)
