"""The ledger: every Exchange in SQLite (WAL), committed before its response ends.

Why await the commit before the response ends: a request whose response the client fully
received must survive a `kill -9` of the gateway, so the proxy finishes a response only
after its row is committed. When the writer is idle the commit runs inline on the event
loop (~0.1 ms: cheaper than two thread hand-offs) with no busy wait: when another process
holds the file's lock (a scan, a draining old gateway), the row goes to the writer thread, which
waits out the lock. Under load rows queue for that thread, which commits them in batches (group
commit), so the loop never waits on a busy disk.
WAL with synchronous=NORMAL survives a process crash (not a power cut) without an fsync
per batch. The queue is bounded: when the disk stalls, writers wait instead of memory growing.

A row that cannot be committed after three tries is not pretended done: the waiting writer
gets `LedgerWriteFailed` (the response then fails instead of completing), the failure is
logged, and `failed` counts it (`xx_ledger_failed_total` in /metrics).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from gateway.errors import LedgerWriteFailed
from gateway.exchange import Exchange

SCHEMA = """
CREATE TABLE IF NOT EXISTS exchanges (
    id TEXT PRIMARY KEY,
    started REAL NOT NULL,
    first_byte REAL,
    ended REAL,
    agent TEXT, route TEXT, tier TEXT, role TEXT, dialect TEXT, path TEXT, session TEXT,
    requested_model TEXT, model TEXT, provider TEXT,
    stream INTEGER, status INTEGER, outcome TEXT,
    input INTEGER, output INTEGER, cache_read INTEGER, cache_write INTEGER, usage_reported INTEGER,
    cache_class TEXT, cost REAL, saved REAL, error TEXT,
    attempts TEXT, skipped TEXT, key_fp TEXT
);
CREATE INDEX IF NOT EXISTS exchanges_started ON exchanges(started);
"""

COLUMNS = ["id", "started", "first_byte", "ended", "agent", "route", "tier", "role", "dialect", "path", "session", "requested_model", "model", "provider", "stream", "status", "outcome", "input", "output", "cache_read", "cache_write", "usage_reported", "cache_class", "cost", "saved", "error", "attempts", "skipped", "key_fp"]
COLUMNS = [*COLUMNS, "guards"]  # JSON {repairs, blocks, notes}: what gateway/guards did (no argument values)
# The shared row (COLUMNS, also PostgreSQL's) plus the team token's name: PostgreSQL adds it in its own migration.
SQLITE_COLUMNS = [*COLUMNS, "token"]
INSERT = (f"INSERT OR REPLACE INTO exchanges ({', '.join(SQLITE_COLUMNS)}) "
          f"VALUES ({', '.join('?' * len(SQLITE_COLUMNS))})")
MAX_QUEUE = 10_000
log = logging.getLogger("xx.gateway")
MAX_BATCH = 500


def connect(path: Path, busy_timeout: float = 10.0) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, timeout=busy_timeout)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    if "endpoint" in {row[1] for row in db.execute("PRAGMA table_info(exchanges)")}:  # a ledger from before
        db.execute("ALTER TABLE exchanges RENAME COLUMN endpoint TO dialect")  # the rename to `dialect`
    db.executescript(SCHEMA)
    if "guards" not in {row[1] for row in db.execute("PRAGMA table_info(exchanges)")}:  # guards' record (issue 16)
        db.execute("ALTER TABLE exchanges ADD COLUMN guards TEXT")
    if "key_fp" not in {row[1] for row in db.execute("PRAGMA table_info(exchanges)")}:  # a ledger from before keys
        db.execute("ALTER TABLE exchanges ADD COLUMN key_fp TEXT")
    if "token" not in {row[1] for row in db.execute("PRAGMA table_info(exchanges)")}:  # team tokens without PG
        db.execute("ALTER TABLE exchanges ADD COLUMN token TEXT")
    return db


def to_row(ex: Exchange) -> tuple[Any, ...]:
    guards = orjson.dumps({"repairs": ex.repairs, "blocks": ex.blocks, "notes": ex.guards}).decode() if ex.guards else None
    return (*_base_row(ex), guards)


def _base_row(ex: Exchange) -> tuple[Any, ...]:
    u = ex.usage
    attempts = [{"model": a.model, "provider": a.provider, "outcome": a.outcome, "status": a.status, "ms": a.ms,
                 "error": a.error, "reached": a.reached, "key": a.key} for a in ex.attempts]
    return (
        ex.id, ex.started, ex.first_byte, ex.ended, ex.agent, ex.route, ex.tier, ex.role, ex.dialect, ex.path,
        ex.session, ex.requested_model, ex.model, ex.provider, int(ex.stream), ex.status, ex.outcome,
        u.input, u.output, u.cache_read, u.cache_write, int(u.reported), ex.cache_class, ex.cost, ex.saved, ex.error,
        orjson.dumps(attempts).decode(), orjson.dumps(ex.skipped).decode(), ex.key_fp,
    )


def sqlite_row(ex: Exchange) -> tuple[Any, ...]:
    """`to_row` plus the team token's name (SQLITE_COLUMNS)."""
    return (*to_row(ex), ex.token)


def from_row(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    """A row of COLUMNS, or of SQLITE_COLUMNS (with the token), as an Exchange dict."""
    d = dict(zip(SQLITE_COLUMNS if len(row) > len(COLUMNS) else COLUMNS, row, strict=True))
    d["usage"] = {
        "input": d.pop("input"), "output": d.pop("output"), "cache_read": d.pop("cache_read"),
        "cache_write": d.pop("cache_write"), "reported": bool(d.pop("usage_reported")),
    }
    d["stream"] = bool(d["stream"])
    d["attempts"] = json.loads(d["attempts"] or "[]")
    d["skipped"] = json.loads(d["skipped"] or "[]")
    g = json.loads(d.pop("guards", None) or "{}")
    d.update(repairs=g.get("repairs", 0), blocks=g.get("blocks", 0), guards=g.get("notes", []))
    ex = Exchange.from_dict(d)
    return ex.to_dict()


class Ledger:
    """Owns the SQLite file. `write` is async and resolves once the row is committed."""

    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        self.path = path
        self._db = connect(path, busy_timeout)
        self._busy_ms = int(busy_timeout * 1000)
        self._db.execute("PRAGMA busy_timeout = 0")  # for the inline commit on the loop (see write)
        self._queue: queue.Queue[tuple[tuple[Any, ...], asyncio.Future[None] | None] | None] = queue.Queue(MAX_QUEUE)
        self._thread = threading.Thread(target=self._run, name="xx-ledger", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.written = 0
        self.failed = 0
        self._lock = threading.Lock()  # one connection, two writers: this loop (when idle) and the thread
        self._thread.start()

    async def write(self, ex: Exchange) -> None:
        """Commit the row before returning.

        When nothing else is waiting, the commit runs right here (~0.1 ms): cheaper than two
        thread hand-offs. Under load, rows queue for the writer thread, which commits them in
        batches (group commit: one transaction per batch).
        """
        row = sqlite_row(ex)
        if self._queue.empty() and self._lock.acquire(blocking=False):
            try:  # the connection's busy timeout is 0 here: a lock held elsewhere sends the row to the thread
                with self._db:
                    self._db.execute(INSERT, row)
                self.written += 1
                return
            except sqlite3.Error:
                pass  # the writer thread waits out the lock and retries
            finally:
                self._lock.release()
        loop = asyncio.get_running_loop()
        self._loop = loop
        fut: asyncio.Future[None] = loop.create_future()
        item = (row, fut)
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, item)
        await fut

    def write_nowait(self, ex: Exchange) -> None:
        """For paths that cannot await (shutdown); still bounded."""
        self._queue.put((sqlite_row(ex), None))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._commit(batch)
                    return
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[None] | None]]) -> None:
        error: Exception | None = None
        for attempt in range(3):
            try:
                with self._lock:
                    self._db.execute(f"PRAGMA busy_timeout = {self._busy_ms}")  # this thread may wait; the loop not
                    try:
                        with self._db:
                            self._db.executemany(INSERT, [row for row, _ in batch])
                    finally:
                        self._db.execute("PRAGMA busy_timeout = 0")
                self.written += len(batch)
                error = None
                break
            except sqlite3.Error as exc:  # locked by another writer, or worse: retry briefly, then fail the writers
                error = exc
                time.sleep(0.05 * (attempt + 1))
        failure = None
        if error is not None:
            self.failed += len(batch)
            failure = LedgerWriteFailed(f"{len(batch)} ledger row(s) not committed after 3 tries: {error}")
            log.error("%s", failure)
        futures = [f for _, f in batch if f is not None]
        if futures and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(_settle, futures, failure)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._db.close()

    # Reads use their own short-lived connection so they never block the writer's.
    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._read(f"SELECT {', '.join(SQLITE_COLUMNS)} FROM exchanges ORDER BY started DESC LIMIT ?", (limit,))
        return [from_row(r) for r in rows]

    def since(self, ts: float) -> list[dict[str, Any]]:
        rows = self._read(f"SELECT {', '.join(SQLITE_COLUMNS)} FROM exchanges WHERE started >= ? ORDER BY started", (ts,))
        return [from_row(r) for r in rows]

    def attempts_since(self, ts: float) -> list[tuple[str, float, int, str | None]]:
        """(model, time, input tokens) of every upstream call since ts that reached its provider.

        Rebuilds the quota windows at start. An attempt that never reached the provider (refused
        connection, DNS failure, a request that could not be translated) spent nothing there, so
        it spends nothing here either; rows written before `reached` existed count, as they did.
        """
        out: list[tuple[str, float, int, str | None]] = []
        for started, attempts, tokens in self._read("SELECT started, attempts, input FROM exchanges WHERE started >= ?", (ts,)):
            for a in json.loads(attempts or "[]"):
                if a.get("reached", True):
                    out.append((a["model"], started, tokens or 0, a.get("key")))  # key: its quota owner
        return out

    async def token_spend_since(self, ts: float) -> dict[str, tuple[int, float]]:
        """token name -> (requests, dollars) since ts: per-token budgets are counted from the rows, so a restart
        keeps the day's spend (the same contract as the PostgreSQL ledger's)."""
        rows = await asyncio.to_thread(self._read, "SELECT token, count(*), coalesce(sum(cost), 0) FROM exchanges "
                                       "WHERE started >= ? AND token IS NOT NULL GROUP BY token", (ts,))
        return {r[0]: (int(r[1]), float(r[2])) for r in rows}

    def count(self) -> int:
        return self._read("SELECT count(*) FROM exchanges")[0][0]


def _settle(futures: list[asyncio.Future[None]], failure: LedgerWriteFailed | None) -> None:
    for f in futures:
        if f.done():
            continue
        if failure is None:
            f.set_result(None)
        else:
            f.set_exception(failure)
