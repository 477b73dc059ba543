"""The PostgreSQL ledger against a real server: migration, group commit, restart without loss."""

from __future__ import annotations

import asyncio
import threading
import time

from support.dbservers import PostgresServer
from support.pg_load import write_through_a_restart

from gateway.accounting.ledger_pg import MIGRATIONS, PgLedger
from gateway.exchange import Attempt, Exchange


def _ex(i: int, **kw: object) -> Exchange:
    ex = Exchange(agent="claude", tier="free", model="m1", status=200, outcome="ok", **kw)  # type: ignore[arg-type]
    ex.attempts.append(Attempt(model="m1", provider="p", outcome="ok", status=200, ms=1.0))
    ex.ended = ex.started + 0.01
    ex.usage.input = i
    return ex


def test_migrates_writes_and_reads_back(pg_url: str) -> None:
    led = PgLedger(pg_url, instance="a")
    try:
        exes = [_ex(i) for i in range(5)]

        async def go() -> None:
            await asyncio.gather(*(led.write(ex) for ex in exes))

        asyncio.run(go())
        assert led.count() == 5
        rows = led.recent(10)
        assert {r["id"] for r in rows} == {ex.id for ex in exes}
        assert rows[0]["attempts"][0]["model"] == "m1"
        assert len(led.attempts_since(0)) == 5
        assert len(led.since(exes[2].started)) >= 3
    finally:
        led.close()
    again = PgLedger(pg_url, instance="b")  # a second start migrates nothing twice
    try:
        assert again.count() == 5
        assert again._read("SELECT max(version) FROM xx_schema")[0][0] == len(MIGRATIONS)
    finally:
        again.close()


def test_concurrent_instances_migrate_once(pg_url: str) -> None:
    ledgers: list[PgLedger] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            ledgers.append(PgLedger(pg_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        assert ledgers[0]._read("SELECT count(*) FROM xx_schema")[0][0] == len(MIGRATIONS)
    finally:
        for led in ledgers:
            led.close()


def test_restart_mid_load_loses_no_row(pg_server: PostgresServer, pg_url: str) -> None:
    """Writers keep writing through a PostgreSQL restart; every write that returned is in the table."""
    led = PgLedger(pg_url)
    try:
        done, _ = write_through_a_restart(led, pg_server, _ex)
        ids = {r[0] for r in led._read("SELECT id FROM exchanges")}
        assert done and set(done) <= ids, f"{len(set(done) - ids)} committed rows missing"
        assert led.retries > 0, "the restart was not noticed: the test proved nothing"
        assert led.failed == 0
    finally:
        led.close()


def test_retention_deletes_old_rows_in_chunks(pg_url: str) -> None:
    led = PgLedger(pg_url)
    try:
        old = [_ex(i, started=time.time() - 40 * 86400) for i in range(3)]
        new = [_ex(i) for i in range(2)]

        async def go() -> None:
            await asyncio.gather(*(led.write(ex) for ex in old + new))

        asyncio.run(go())
    finally:
        led.close()
    led = PgLedger(pg_url, retention_days=30)
    try:
        deadline = time.monotonic() + 5
        while led.count() != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert led.count() == 2
    finally:
        led.close()


def test_asynchronous_commit_is_a_choice_of_the_writer_only(pg_url: str) -> None:
    led = PgLedger(pg_url, synchronous_commit=False)
    try:
        asyncio.run(led.write(_ex(1)))
        assert led.count() == 1

        async def writer_setting() -> str:
            async with led._writer_conn.use() as conn:
                return await conn.fetchval("SHOW synchronous_commit")

        assert led._call(writer_setting()) == "off"
        assert led._read("SHOW synchronous_commit")[0][0] == "on"
    finally:
        led.close()


def test_a_row_postgresql_refuses_fails_its_writer_alone(pg_url: str) -> None:
    import pytest

    from gateway.errors import LedgerWriteFailed

    led = PgLedger(pg_url)
    try:
        good = [_ex(i) for i in range(3)]
        bad = _ex(9)
        bad.status = 2**40  # does not fit the INTEGER column

        async def go() -> list[object]:
            return await asyncio.gather(*(led.write(ex) for ex in [*good, bad]), return_exceptions=True)

        results = asyncio.run(go())
        assert results[:3] == [None, None, None]
        assert isinstance(results[3], LedgerWriteFailed)
        assert led.count() == 3 and led.failed == 1
        with pytest.raises(LedgerWriteFailed):
            asyncio.run(led.write(bad))
    finally:
        led.close()
