"""The ledger never pretends: a row that could not be committed fails its writer, is logged and counted."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from gateway.accounting.ledger import Ledger
from gateway.errors import LedgerWriteFailed
from gateway.exchange import Exchange


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
