"""The PostgreSQL ledger's local spool: an append-only journal per instance in its state directory.

Why: waiting for PostgreSQL's commit (an fsync on the database host) added 3-10 ms to every
response at concurrency 1. With `[ledger] commit = "spool"` a row is written to this journal
(one line, handed to the OS with one `write`, no fsync) and the response completes; the
ledger's group-commit writer then sends spooled rows to PostgreSQL in batches. That is the
SQLite default's durability class (WAL, synchronous=NORMAL): a `kill -9` of the gateway loses
nothing, a power cut of its host may lose the last rows.

The file: one JSON object per line, `{"s": seq, "r": row}` for a row and `{"c": seq}` once every
row up to seq is committed in PostgreSQL (the watermark). On start, rows after the last
watermark are replayed (inserts are idempotent on the exchange id, so a batch whose watermark
was lost is merely sent again). When the file passes `max_bytes` it is rewritten with only the
rows still pending (write to a temporary file, then rename), so it stays bounded; the rows
pending in memory are bounded by the ledger (writers wait, nothing is dropped).

Several instances may share a state directory: each takes the first journal slot whose lock
it can get (`ledger.pg-spool`, `ledger-1.pg-spool`, ...), so no two write one file, and a
restarted instance takes over (and replays) a slot left by one that died.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Any

import orjson

from gateway.errors import LedgerWriteFailed

log = logging.getLogger("xx.gateway.ledger")

MAX_BYTES = 4 * 1024 * 1024  # rewrite the journal past this size (the pending rows only)
SLOTS = 64  # instances sharing one state directory


class Journal:
    """One instance's spool file. `append` is called from serving threads, `committed` from the writer."""

    def __init__(self, base: Path, max_bytes: int | None = None) -> None:
        base.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes or MAX_BYTES
        self.path, self._lock_fd = _claim(base)
        self._lock = threading.Lock()  # one writer of the file at a time; `append` order = seq order
        self._lines: collections.deque[bytes] = collections.deque()  # pending rows' lines, oldest first
        self.leftover, self.seq = _read(self.path)  # rows a previous holder of this slot did not see committed
        self.done = self.seq  # every row up to here is committed
        self.rotations = 0
        self.rejected = 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.size = os.fstat(self._fd).st_size

    @property
    def pending(self) -> int:
        return self.seq - self.done

    def append(self, row: tuple[Any, ...], then: Any = None) -> int:
        """Write the row's line (one `write`, no fsync); `then(row)` runs under the same lock, so the
        writer receives rows in journal order. Returns the row's sequence number."""
        with self._lock:
            seq = self.seq + 1
            line = orjson.dumps({"s": seq, "r": row}) + b"\n"
            try:
                _write(self._fd, line)
            except OSError as exc:  # disk full, closed: the response fails (as a failed commit does)
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self.size)  # no torn line for the next row to be glued to
                raise LedgerWriteFailed(f"ledger spool write failed: {exc.strerror or exc}") from exc
            self.seq = seq
            self.size += len(line)
            self._lines.append(line)
            if then is not None:
                then(row)
            return seq

    def committed(self, n: int) -> None:
        """The oldest n pending rows are in PostgreSQL: advance the watermark, rotate when large."""
        with self._lock:
            for _ in range(min(n, len(self._lines))):
                self._lines.popleft()
            self.done += n
            mark = orjson.dumps({"c": self.done}) + b"\n"
            try:  # a lost watermark only means these rows are sent again on the next start (idempotent)
                _write(self._fd, mark)
                self.size += len(mark)
                if self.size > self.max_bytes:
                    self._rotate()
            except OSError as exc:
                log.warning("ledger spool %s: watermark not written (%s); retried with the next batch",
                            self.path.name, exc)

    def replayed(self) -> None:
        """The leftover rows are committed: start a fresh file."""
        with self._lock:
            self.leftover = []
            self._rotate()

    def reject(self, row: tuple[Any, ...], why: str) -> None:
        """A row PostgreSQL refuses (bad data, not an outage): kept beside the journal, never silently dropped."""
        self.rejected += 1
        log.error("ledger: row %s refused by PostgreSQL (%s); kept in %s", row[0], why, self.path.name + ".rejected")
        with open(str(self.path) + ".rejected", "ab") as f:
            f.write(orjson.dumps({"r": row, "error": why}) + b"\n")

    def _rotate(self) -> None:
        """Rewrite the file with the pending rows only (caller holds the lock)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o600)
        data = orjson.dumps({"c": self.done}) + b"\n" + b"".join(self._lines)
        try:
            _write(fd, data)
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            raise
        os.close(self._fd)
        self._fd, self.size = fd, len(data)
        self.rotations += 1

    def close(self) -> None:
        with self._lock:
            for fd in (self._fd, self._lock_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fd = self._lock_fd = -1  # a late append fails (EBADF) instead of writing to a reused fd


class SpoolWrites:
    """The spool's side of gateway.accounting.ledger_pg.PgLedger (its loop, writer and pending list).

    `write` appends to the journal and hands the row to the writer's loop without waiting; the
    writer commits spooled rows in batches and advances the journal's watermark; reads first wait
    for this instance's spooled rows (`_drained`), so a read right after a write sees the row.
    """

    journal: Journal | None
    batch = 500  # rows per replay statement
    _loop: asyncio.AbstractEventLoop
    _pending: list[Any]
    _wake: asyncio.Event
    _urgent: asyncio.Event
    window = 0.02  # s: spooled rows gather this long into one commit (a reader or a full batch ends it)
    _progress: asyncio.Condition
    replayed = 0

    def _call(self, coro: Any, timeout: float | None = 60.0) -> Any:
        raise NotImplementedError

    async def _commit_isolating(self, rows: list[tuple[Any, ...]]) -> dict[int, Exception]:
        raise NotImplementedError

    def _handoff(self, row: tuple[Any, ...]) -> None:
        """A spooled row to the writer (called under the journal's lock: rows arrive in journal order)."""
        self._loop.call_soon_threadsafe(self._spooled, row)

    def _spooled(self, row: tuple[Any, ...]) -> None:
        self._pending.append((row, None))
        self._wake.set()
        if len(self._pending) >= self.batch:
            self._urgent.set()

    async def _gather(self) -> None:
        """Let more spooled rows join the next commit: at concurrency 1 a commit per row costs ~0.3 ms
        of client CPU in the gateway's process; one per window costs that once for several rows."""
        if not self._urgent.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._urgent.wait(), self.window)
        self._urgent.clear()

    async def _until(self, ready: Any, wait_s: float = 30.0) -> bool:
        """Wait (on the ledger's loop) until ready() after some batch; False after wait_s."""
        async with self._progress:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._progress.wait_for(ready), wait_s)
            return bool(ready())

    async def _drained(self) -> None:
        """Reads see this instance's own rows: wait until every row spooled so far is committed."""
        if self.journal is not None and self.journal.pending:
            target = self.journal.seq
            self._urgent.set()
            if not await self._until(lambda: self.journal.done >= target, 10.0):  # type: ignore[union-attr]
                log.warning("ledger: reading while %d spooled row(s) wait for PostgreSQL", self.journal.pending)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every row written so far is in PostgreSQL (spool mode; sync mode always is)."""
        if self.journal is None:
            return True
        target = self.journal.seq
        self._loop.call_soon_threadsafe(self._urgent.set)
        return bool(self._call(self._until(lambda: self.journal.done >= target, timeout), timeout + 5))

    async def _replay(self, journal: Journal) -> None:
        """Rows a previous run spooled but did not see committed go in before this instance serves."""
        rows = journal.leftover
        for i in range(0, len(rows), self.batch):
            chunk = rows[i:i + self.batch]
            for j, err in (await self._commit_isolating(chunk)).items():
                journal.reject(chunk[j], str(err))
        if rows:
            log.info("ledger: %d spooled row(s) from a previous run committed", len(rows))
        self.replayed = len(rows)
        journal.replayed()


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _claim(base: Path) -> tuple[Path, int]:
    """The first slot whose lock this process gets (held until close, released by the kernel on death)."""
    for i in range(SLOTS):
        path = base.with_name(f"{base.stem}{'' if i == 0 else f'-{i}'}.pg-spool")
        fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return path, fd
    raise RuntimeError(f"all {SLOTS} ledger spool slots in {base.parent} are held by running instances")


def _read(path: Path) -> tuple[list[tuple[Any, ...]], int]:
    """Rows after the last watermark, and the highest sequence number seen."""
    rows: list[tuple[int, tuple[Any, ...]]] = []
    mark = top = torn = 0
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    for line in data.splitlines():
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            torn += 1  # a write cut short by a crash: its writer never returned, so no response completed
            continue
        if "c" in item:
            mark = max(mark, int(item["c"]))
        else:
            rows.append((int(item["s"]), tuple(item["r"])))
            top = max(top, int(item["s"]))
    if torn:
        log.warning("ledger spool %s: %d torn line(s) skipped", path.name, torn)
    return [r for s, r in rows if s > mark], max(top, mark)
