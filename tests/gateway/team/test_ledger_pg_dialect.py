"""A PostgreSQL ledger from before the rename of `endpoint` to `dialect` keeps its rows (issue 11)."""

from __future__ import annotations

import asyncio

from gateway.accounting.ledger_pg import MIGRATIONS, PgLedger


async def _old_ledger(url: str) -> None:
    """The schema as the first two migrations left it, with one row in the old column."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE xx_schema (version INTEGER NOT NULL)")
        for version, sql in enumerate(MIGRATIONS[:2], start=1):
            await conn.execute(sql)
            await conn.execute("INSERT INTO xx_schema (version) VALUES ($1)", version)
        await conn.execute("INSERT INTO exchanges (id, started, agent, endpoint, path) "
                           "VALUES ('old1', 1.0, 'claude', 'anthropic', '/v1/messages')")
    finally:
        await conn.close()


def test_an_old_pg_ledger_is_renamed_in_place_and_keeps_its_rows(pg_url: str) -> None:
    asyncio.run(_old_ledger(pg_url))
    led = PgLedger(pg_url, instance="a")
    try:
        rows = {r["id"]: r for r in led.recent(10)}
        assert rows["old1"]["dialect"] == "anthropic" and rows["old1"]["path"] == "/v1/messages"
        cols = {r[0] for r in led._read("SELECT column_name FROM information_schema.columns "
                                          "WHERE table_name = 'exchanges' AND table_schema = current_schema()")}
        assert "dialect" in cols and "endpoint" not in cols
        assert led._read("SELECT max(version) FROM xx_schema")[0][0] == len(MIGRATIONS)
    finally:
        led.close()
