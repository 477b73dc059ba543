"""The SQLite ledger attributes each request to its team token (no PostgreSQL needed), and old ledgers gain the column."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
from support.servers import GatewayThread, wait_for
from support.team_cluster import chat, team_config

from gateway.accounting import tokens
from gateway.accounting.ledger import Ledger


def test_a_team_token_request_is_attributed_in_the_sqlite_ledger(simulator_thread, tmp_path: Path) -> None:
    store = tokens.FileTokens(tmp_path / "tokens.json")
    clear = tokens.new_token()
    asyncio.run(store.upsert(tokens.Token("carol", tokens.digest(clear), clear[:8], time.time(), None)))
    db = tmp_path / "ledger.sqlite3"
    gw = GatewayThread(team_config(simulator_thread.url, state_url=None, ledger_url=None, rpm=1000), db).start()
    try:
        with httpx.Client(timeout=10) as c:
            assert chat(c, gw.url, "from carol", token=clear).status_code == 200
            assert chat(c, gw.url, "no token on loopback").status_code == 200

        def names() -> list[str | None] | None:
            with sqlite3.connect(db) as conn:
                got = [r[0] for r in conn.execute("SELECT token FROM exchanges ORDER BY started")]
            return got if len(got) == 2 else None

        assert wait_for(names, 10, "two ledger rows") == ["carol", None]
        rows = httpx.get(gw.url + "/xx/requests?limit=10", timeout=5).json()["requests"]
        assert sorted(str(r.get("token")) for r in rows) == ["None", "carol"], rows
    finally:
        gw.stop()


def test_an_old_ledger_gains_the_token_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    Ledger(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE exchanges DROP COLUMN token")
        conn.execute("INSERT INTO exchanges (id, started) VALUES ('old', 1.0)")
    ledger = Ledger(path)
    try:
        assert [r["id"] for r in ledger.recent(10)] == ["old"] and ledger.recent(10)[0].get("token") is None
    finally:
        ledger.close()
