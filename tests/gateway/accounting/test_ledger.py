"""The ledger never pretends: a row that could not be committed fails its writer, is logged and counted."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from gateway.accounting.ledger import Ledger
from gateway.errors import LedgerWriteFailed
from gateway.exchange import Exchange
from gateway.tasks import spawn


async def test_a_row_that_cannot_be_committed_fails_its_writer(tmp_path: Path, caplog) -> None:
    """Defect 3: after three failed commits the writer used to be told "done"."""
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path, busy_timeout=0.05)
    blocker = sqlite3.connect(path, timeout=0.05)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database
    try:
        with caplog.at_level(logging.ERROR, logger="xx.gateway"), pytest.raises(LedgerWriteFailed):
            await ledger.write(Exchange(agent="t"))
        assert ledger.failed == 1 and ledger.written == 0
        assert any("not committed" in r.getMessage() for r in caplog.records)
    finally:
        blocker.rollback()
        blocker.close()
    await ledger.write(Exchange(agent="t"))  # the lock is gone: writes work again
    assert ledger.written == 1 and ledger.count() == 1
    ledger.close()


async def test_a_lock_held_elsewhere_never_stalls_the_event_loop(tmp_path: Path) -> None:
    """The inline commit used to wait out SQLite's busy timeout on the loop (2 s here, 10 s by default)."""
    import asyncio
    import time

    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path, busy_timeout=2.0)
    await ledger.write(Exchange(agent="warm"))
    blocker = sqlite3.connect(path, timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")  # `xx models scan`, or an old gateway draining, writes the same file
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while len(gaps) < 60:
            await asyncio.sleep(0.01)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()

    tick = spawn(ticker())
    write = spawn(ledger.write(Exchange(agent="t")))
    await asyncio.sleep(0.4)
    assert not write.done(), "committed through an exclusive lock?"
    blocker.rollback()
    blocker.close()
    await asyncio.wait_for(write, 5)
    await tick
    assert max(gaps) < 0.3, f"the loop stalled {max(gaps):.2f}s"
    assert ledger.count() == 2
    ledger.close()


OLD_SCHEMA = """
CREATE TABLE exchanges (
    id TEXT PRIMARY KEY, started REAL NOT NULL, first_byte REAL, ended REAL,
    agent TEXT, route TEXT, tier TEXT, role TEXT, endpoint TEXT, path TEXT, session TEXT,
    requested_model TEXT, model TEXT, provider TEXT, stream INTEGER, status INTEGER, outcome TEXT,
    input INTEGER, output INTEGER, cache_read INTEGER, cache_write INTEGER, usage_reported INTEGER,
    cache_class TEXT, cost REAL, saved REAL, error TEXT, attempts TEXT, skipped TEXT
);
"""


async def test_a_ledger_from_before_the_dialect_rename_keeps_its_rows(tmp_path: Path) -> None:
    """The column `endpoint` (the name before `dialect`) is renamed in place: old rows read back with `dialect`."""
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    old.execute("INSERT INTO exchanges (id, started, agent, endpoint, path) VALUES ('old1', 1.0, 'claude', 'anthropic',"
                " '/v1/messages')")
    old.commit()
    old.close()
    ledger = Ledger(path)
    await ledger.write(Exchange(id="new1", started=2.0, agent="codex", dialect="responses"))
    rows = {r["id"]: r for r in ledger.recent()}
    ledger.close()
    assert rows["old1"]["dialect"] == "anthropic" and rows["old1"]["path"] == "/v1/messages"
    assert rows["new1"]["dialect"] == "responses"
    assert all("endpoint" not in r for r in rows.values())
    columns = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(exchanges)")}
    assert "dialect" in columns and "endpoint" not in columns
