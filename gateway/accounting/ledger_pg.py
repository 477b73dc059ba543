"""The ledger in PostgreSQL, for several gateway instances writing one team's traffic.

With `[ledger] commit = "sync"`, the same promise as the SQLite ledger: `write` resolves only once
the row is committed, so a response the client fully received survives a `kill -9` of any
instance. With "spool" (the default) it resolves once the row is in the instance's local
journal (gateway.accounting.spool: the SQLite default's durability without PostgreSQL's fsync). Writes are group
committed: while one transaction is in flight, new rows gather and go in the next one, so
under load one commit carries many rows and when idle a row commits alone at once.

Why a thread with its own event loop: the same synchronous read API as the SQLite ledger
(`recent`, `since`, … called from Quart's executor or at start) with no second driver, and
the write connection's work never queues behind the serving loop's. Why asyncpg: measured on
this write pattern (`tests/bench/bench_team.py drivers`) it spends about half the client CPU
per row of psycopg 3 at the same commit latency.

When PostgreSQL goes away (a restart), a batch is retried with backoff until it commits:
writers wait (the pending rows are bounded), nothing is dropped. Inserts are idempotent on
the exchange id, so a batch whose commit ack was lost is safely sent again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from gateway.accounting import tokens
from gateway.accounting.ledger import COLUMNS, from_row, to_row
from gateway.accounting.spool import Journal, SpoolWrites
from gateway.errors import LedgerWriteFailed
from gateway.exchange import Exchange

log = logging.getLogger("xx.gateway.ledger")

PG_COLUMNS = [*COLUMNS, "token", "instance"]
MAX_PENDING = 10_000
MAX_BATCH = 500
RETENTION_CHUNK = 1000  # rows per retention DELETE: short transactions that never hold up inserts

# Each migration runs once, in order, under an advisory lock (instances may start together).
MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS exchanges (
        id TEXT PRIMARY KEY,
        started DOUBLE PRECISION NOT NULL,
        first_byte DOUBLE PRECISION,
        ended DOUBLE PRECISION,
        agent TEXT, route TEXT, tier TEXT, role TEXT, endpoint TEXT, path TEXT, session TEXT,
        requested_model TEXT, model TEXT, provider TEXT,
        stream INTEGER, status INTEGER, outcome TEXT,
        input BIGINT, output BIGINT, cache_read BIGINT, cache_write BIGINT, usage_reported INTEGER,
        cache_class TEXT, cost DOUBLE PRECISION, saved DOUBLE PRECISION, error TEXT,
        attempts TEXT, skipped TEXT
    );
    CREATE INDEX IF NOT EXISTS exchanges_started ON exchanges(started);
    """,
    """
    ALTER TABLE exchanges ADD COLUMN IF NOT EXISTS token TEXT;
    ALTER TABLE exchanges ADD COLUMN IF NOT EXISTS instance TEXT;
    CREATE INDEX IF NOT EXISTS exchanges_token_started ON exchanges(token, started);
    """,
    "ALTER TABLE exchanges RENAME COLUMN endpoint TO dialect",  # one name for the API family (issue 11)
]
# Columns the Exchange row gains later (gateway.accounting.ledger.COLUMNS) are added on start
# with these types; any other new column is TEXT.
COLUMN_TYPES = {"started": "DOUBLE PRECISION", "first_byte": "DOUBLE PRECISION", "ended": "DOUBLE PRECISION",
                "cost": "DOUBLE PRECISION", "saved": "DOUBLE PRECISION", "stream": "INTEGER", "status": "INTEGER",
                "usage_reported": "INTEGER", "input": "BIGINT", "output": "BIGINT", "cache_read": "BIGINT",
                "cache_write": "BIGINT"}

_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in PG_COLUMNS if c != "id")
INSERT = (f"INSERT INTO exchanges ({', '.join(PG_COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(PG_COLUMNS)))}) "
          f"ON CONFLICT (id) DO UPDATE SET {_UPDATES}")
SELECT = f"SELECT {', '.join(COLUMNS)} FROM exchanges"


def _transient() -> tuple[type[BaseException], ...]:
    """Errors that mean "the server is away" (restart, network), as opposed to "these rows are bad"."""
    import asyncpg

    return (OSError, asyncio.TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
            asyncpg.CannotConnectNowError, asyncpg.exceptions.OperatorInterventionError)


def pg_row(ex: Exchange, instance: str) -> tuple[Any, ...]:
    """The SQLite row plus who sent it (the team token's name, set by the auth gate) and which instance served it."""
    return (*to_row(ex), getattr(ex, "token", None) or tokens.current.get(), instance)


async def migrate(conn: Any) -> int:
    """Bring the schema up to date; returns the version. Safe to run from several instances at once."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7421001)")
        await conn.execute("CREATE TABLE IF NOT EXISTS xx_schema (version INTEGER NOT NULL)")
        version = await conn.fetchval("SELECT max(version) FROM xx_schema") or 0
        for i, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            await conn.execute(sql)
            await conn.execute("INSERT INTO xx_schema (version) VALUES ($1)", i)
        have = {r[0] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'exchanges' "
            "AND table_schema = current_schema()")}
        for col in PG_COLUMNS:
            if col not in have:
                await conn.execute(f'ALTER TABLE exchanges ADD COLUMN "{col}" {COLUMN_TYPES.get(col, "TEXT")}')
        return len(MIGRATIONS)


class _Conn:
    """One connection used by one task at a time, dropped on any error and reopened on next use.

    Not a pool: a pool's background reconnection hid a PostgreSQL restart from us and could
    hang; here a broken connection is simply replaced by the next `use()`.
    """

    def __init__(self, url: str, settings: dict[str, str] | None = None) -> None:
        self.url = url
        self.settings = settings or {}
        self.conn: Any = None
        self.lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def use(self) -> Any:
        import asyncpg

        async with self.lock:
            if self.conn is None or self.conn.is_closed():
                self.conn = await asyncpg.connect(self.url, timeout=5, command_timeout=10, server_settings=self.settings)
            try:
                yield self.conn
            except BaseException:  # a fresh connection next time costs ~1 ms; a poisoned one costs rows
                if self.conn is not None:
                    self.conn.terminate()
                    self.conn = None
                raise

    async def close(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.conn.close(), 5)
        self.conn = None


class PgLedger(SpoolWrites):
    """Owns a small asyncpg pool on its own loop; the API matches gateway.accounting.ledger.Ledger."""

    def __init__(self, url: str, *, instance: str = "", retention_days: float | None = None,
                 connect_timeout: float = 10.0, synchronous_commit: bool = True, spool: Path | None = None,
                 spool_bytes: int | None = None) -> None:
        self.url = url
        # spool: `write` resolves once the row is in the instance's local journal (gateway.accounting.spool)
        self.journal = None if spool is None else Journal(spool, spool_bytes)
        self.synchronous_commit = synchronous_commit
        self.path = None  # the SQLite ledger's attribute; nothing on disk here
        self.instance = instance
        self.retention_days = retention_days
        self.written = 0
        self.failed = 0
        self.retries = 0
        self._pending: list[tuple[tuple[Any, ...], asyncio.Future[None] | None]] = []  # None: spooled
        self.replayed = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="xx-ledger-pg", daemon=True)
        self._thread.start()
        self._tasks: list[asyncio.Task[None]] = []
        try:
            self._call(self._open(), timeout=connect_timeout + 5)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            if self.journal is not None:
                self.journal.close()
            raise

    # -- plumbing ------------------------------------------------------------------------
    def _call(self, coro: Any, timeout: float | None = 60.0) -> Any:
        """Run a coroutine on the ledger's loop from any other thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _open(self) -> None:

        self._writer_conn = _Conn(self.url, {} if self.synchronous_commit else {"synchronous_commit": "off"})
        self._reader_conn = _Conn(self.url)
        async with self._writer_conn.use() as conn:
            await migrate(conn)
        self._wake = asyncio.Event()
        self._room = asyncio.Semaphore(MAX_PENDING)
        self._progress = asyncio.Condition()  # notified after each spooled batch commits
        self._urgent = asyncio.Event()  # a reader waits, or a full batch: end the spool's gathering window
        if self.journal is not None:
            await self._replay(self.journal)
        self._tasks.append(self._loop.create_task(self._writer()))
        if self.retention_days:
            self._tasks.append(self._loop.create_task(self._retention()))

    # -- writes --------------------------------------------------------------------------
    async def write(self, ex: Exchange) -> None:
        """Return once the row is committed (group commit with whatever else is pending), or with
        the spool once it is in the journal (waiting first while the spool is over its bound)."""
        row = pg_row(ex, self.instance)
        if self.journal is not None:
            while self.journal.pending >= MAX_PENDING:  # PostgreSQL away for long: wait for room, drop nothing
                await self._await(self._until(lambda: self.journal.pending < MAX_PENDING))  # type: ignore[union-attr]
            self.journal.append(row, self._handoff)
            return
        await self._await(self._enqueue(row))

    def write_nowait(self, ex: Exchange) -> None:
        """For paths that cannot await (a cancelled request): queued (or spooled), committed by the writer."""
        if self.journal is not None:
            self.journal.append(pg_row(ex, self.instance), self._handoff)
            return
        asyncio.run_coroutine_threadsafe(self._enqueue(pg_row(ex, self.instance)), self._loop)

    async def _await(self, coro: Any) -> Any:
        """Run a coroutine on the ledger's loop and await it from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def _enqueue(self, row: tuple[Any, ...]) -> None:
        await self._room.acquire()
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pending.append((row, fut))
        self._wake.set()
        await fut

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.journal is not None:
                await self._gather()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                failures = await self._commit_isolating([row for row, _ in batch])
                spooled = 0
                for i, (row, fut) in enumerate(batch):
                    if fut is None:  # spooled: its writer is long gone; a refused row is kept aside
                        spooled += 1
                        if i in failures:
                            self.journal.reject(row, str(failures[i]))  # type: ignore[union-attr]
                        continue
                    if not fut.done():
                        if failures.get(i) is None:
                            fut.set_result(None)
                        else:
                            fut.set_exception(failures[i])
                    self._room.release()
                if spooled:
                    self.journal.committed(spooled)  # type: ignore[union-attr]
                    async with self._progress:
                        self._progress.notify_all()

    async def _commit_isolating(self, rows: list[tuple[Any, ...]]) -> dict[int, LedgerWriteFailed]:
        """Commit the batch; if PostgreSQL refuses it, commit row by row so one bad row fails alone."""
        error = await self._commit(rows)
        if error is None:
            return {}
        out = {0: error} if len(rows) == 1 else {}
        if len(rows) > 1:
            for i, row in enumerate(rows):
                if (err := await self._commit([row])) is not None:
                    out[i] = err
        self.failed += len(out)
        return out

    async def _commit(self, rows: list[tuple[Any, ...]]) -> LedgerWriteFailed | None:
        """Commit rows in one statement; wait out a lost server, fail (LedgerWriteFailed) only on refused data.

        The writer of a failed row gets the error, so its response fails instead of completing (the
        SQLite ledger's promise). Unknown driver errors are retried for about a minute first.
        """
        import asyncpg

        transient = _transient()
        delay, bad, odd = 0.05, 0, 0
        while True:
            try:
                async with self._writer_conn.use() as conn:  # executemany is atomic: one round trip, no BEGIN/COMMIT
                    await conn.executemany(INSERT, rows)
                self.written += len(rows)
                return None
            except (asyncpg.DataError, asyncpg.PostgresError) as exc:
                if isinstance(exc, transient) and not isinstance(exc, asyncpg.DataError):
                    self._waiting(exc, len(rows))
                else:  # the server is up and refuses these rows (or the driver cannot encode them)
                    bad += 1
                    if bad >= 3:
                        return self._refused(rows, exc)
            except transient as exc:
                self._waiting(exc, len(rows))
            except Exception as exc:  # anything else from the driver: most likely the server going away
                odd += 1
                log.warning("ledger: write failed (%s: %s); retrying", type(exc).__name__, exc)
                if odd >= 60:
                    return self._refused(rows, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _waiting(self, exc: BaseException, n: int) -> None:
        self.retries += 1
        if self.retries == 1 or self.retries % 50 == 0:
            log.warning("ledger: PostgreSQL unavailable (%s); %d row(s) wait", type(exc).__name__, n)

    def _refused(self, rows: list[tuple[Any, ...]], exc: BaseException) -> LedgerWriteFailed:
        log.error("ledger: %d row(s) not committed: %s", len(rows), exc)
        return LedgerWriteFailed(f"{len(rows)} ledger row(s) not committed: {type(exc).__name__}")

    async def _retention(self) -> None:
        """Delete rows older than the retention in small chunks, once an hour (and at start)."""
        while True:
            try:
                cutoff = time.time() - float(self.retention_days or 0) * 86400
                while True:
                    async with self._reader_conn.use() as conn:
                        status = await conn.execute(
                            "DELETE FROM exchanges WHERE id IN (SELECT id FROM exchanges WHERE started < $1 LIMIT $2)",
                            cutoff, RETENTION_CHUNK)
                    if not status.endswith(f" {RETENTION_CHUNK}"):
                        break
                    await asyncio.sleep(0.05)
            except Exception as exc:  # the next round retries; serving never depends on this
                log.warning("ledger retention failed: %s", exc)
            await asyncio.sleep(3600)

    def close(self) -> None:
        async def shutdown() -> None:
            deadline = time.monotonic() + 10
            while (self._pending or (self.journal and self.journal.pending)) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            for task in self._tasks:
                task.cancel()
            for holder in (self._writer_conn, self._reader_conn):
                await holder.close()
            if self.journal is not None:  # rows still spooled (PostgreSQL away) wait in it for the next start
                self.journal.close()

        if self._loop.is_running():
            with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
                self._call(shutdown(), timeout=20)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    # -- reads ---------------------------------------------------------------------------
    def _read(self, sql: str, *args: Any) -> list[Any]:
        async def fetch() -> list[Any]:
            await self._drained()
            async with self._reader_conn.use() as conn:
                return await conn.fetch(sql, *args)

        return self._call(fetch())

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first, the whole team's rows, each with the token that sent it and the instance that served it."""
        rows = self._read(f"SELECT {', '.join(PG_COLUMNS)} FROM exchanges ORDER BY started DESC LIMIT $1", limit)
        return [{**from_row(tuple(r)[:len(COLUMNS)]), "token": r["token"], "instance": r["instance"]} for r in rows]

    def since(self, ts: float) -> list[dict[str, Any]]:
        return [from_row(tuple(r)) for r in self._read(f"{SELECT} WHERE started >= $1 ORDER BY started", ts)]

    def attempts_since(self, ts: float) -> list[tuple[str, float, int]]:
        """(model, time, input tokens) of every upstream call since ts: rebuilds quota windows on start."""
        out: list[tuple[str, float, int]] = []
        for started, attempts, used in self._read("SELECT started, attempts, input FROM exchanges WHERE started >= $1", ts):
            for a in json.loads(attempts or "[]"):
                out.append((a["model"], started, used or 0))
        return out

    async def others_since(self, ts: float) -> list[dict[str, Any]]:
        """Rows other instances started since ts (the team feed: gateway.routing.team_feed)."""
        async def fetch() -> list[Any]:
            async with self._reader_conn.use() as conn:
                return await conn.fetch(f"SELECT {', '.join(PG_COLUMNS)} FROM exchanges WHERE started >= $1 "
                                        "AND instance IS DISTINCT FROM $2 ORDER BY started LIMIT 5000", ts, self.instance)

        rows = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fetch(), self._loop))
        return [{**from_row(tuple(r)[:len(COLUMNS)]), "token": r["token"], "instance": r["instance"]} for r in rows]

    def count(self) -> int:
        return int(self._read("SELECT count(*) FROM exchanges")[0][0])

    async def token_spend_since(self, ts: float) -> dict[str, tuple[int, float]]:
        """token name -> (requests, dollars) since ts, the whole team's: per-token budgets hold across instances."""
        async def fetch() -> list[Any]:
            await self._drained()
            async with self._reader_conn.use() as conn:
                return await conn.fetch("SELECT token, count(*), coalesce(sum(cost), 0) FROM exchanges "
                                        "WHERE started >= $1 AND token IS NOT NULL GROUP BY token", ts)

        rows = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fetch(), self._loop))
        return {r[0]: (int(r[1]), float(r[2])) for r in rows}
