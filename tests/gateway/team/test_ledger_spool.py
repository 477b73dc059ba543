"""The PG ledger with `[ledger] commit = "spool"` against a real PostgreSQL: a write resolves once its row
is in the instance's journal; nothing is lost to a kill -9, a PostgreSQL restart or a long outage."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from support.dbservers import PostgresServer
from support.pg_load import write_through_a_restart
from support.team_cluster import Cluster, chat

from gateway.accounting import ledger_pg
from gateway.accounting.ledger_pg import PgLedger
from gateway.exchange import Attempt, Exchange
from gateway.tasks import spawn

ROOT = Path(__file__).resolve().parents[3]


def _ex(i: int) -> Exchange:
    ex = Exchange(agent="claude", tier="free", model="m1", status=200, outcome="ok")
    ex.attempts.append(Attempt(model="m1", provider="p", outcome="ok", status=200, ms=1.0))
    ex.ended = ex.started + 0.01
    ex.usage.input = i
    return ex


def _ids(led: PgLedger) -> list[str]:
    return [r[0] for r in led._read("SELECT id FROM exchanges")]


def test_a_read_right_after_a_spooled_write_sees_the_row(pg_url: str, tmp_path: Path) -> None:
    led = PgLedger(pg_url, spool=tmp_path / "ledger.sqlite3")
    try:
        async def go() -> list[str]:
            missing = []
            for i in range(40):
                ex = _ex(i)
                await led.write(ex)
                if not any(r["id"] == ex.id for r in await asyncio.to_thread(led.recent, 5)):
                    missing.append(ex.id)
            return missing

        assert asyncio.run(go()) == []
        assert led.journal is not None and led.journal.pending == 0
    finally:
        led.close()


def test_requests_right_after_an_answer_lists_it(simulator_thread, pg_url: str, tmp_path: Path) -> None:
    cluster = Cluster(simulator_thread.url, 1, tmp_path, state_url=None, ledger_url=pg_url, rpm=100_000)
    (gw,) = cluster.instances
    try:
        assert gw.rt.ledger.journal is not None, "spool is the default commit mode"
        with httpx.Client(timeout=10) as c:
            for i in range(10):
                r = chat(c, gw.url, f"hello {i}")
                assert r.status_code == 200
                rows = c.get(gw.url + "/xx/requests?limit=5").json()["requests"]
                assert r.headers["x-xx-exchange"] in {row["id"] for row in rows}
    finally:
        cluster.stop()


CHILD = textwrap.dedent("""
    import asyncio, json, os, signal, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from gateway.accounting.ledger_pg import PgLedger
    from gateway.exchange import Exchange
    led = PgLedger(sys.argv[1], spool=Path(sys.argv[2]))
    print("ready", flush=True)
    sys.stdin.readline()  # PostgreSQL is stopped now

    async def go():
        ids = []
        for i in range(30):
            ex = Exchange(agent="claude", model="m1", status=200, outcome="ok")
            await asyncio.wait_for(led.write(ex), 2)  # resolves without PostgreSQL
            ids.append(ex.id)
        return ids

    print(json.dumps(asyncio.run(go())), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_kill_9_while_postgres_is_away_then_replay_commits_each_row_once(pg_server: PostgresServer, pg_url: str,
                                                                          tmp_path: Path) -> None:
    base = tmp_path / "ledger.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", CHILD, pg_url, str(base), str(ROOT)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        pg_server.stop("fast")
        child.stdin.write("go\n")
        child.stdin.flush()
        ids = json.loads(child.stdout.readline())
        assert child.wait(10) == -9
    finally:
        child.kill()
        pg_server.start()
    assert len(ids) == 30
    led = PgLedger(pg_url, spool=base)  # the next start on this state dir
    try:
        assert led.replayed == 30
        stored = _ids(led)
        assert sorted(stored) == sorted(ids), "rows spooled before the kill -9 were not all committed once"
    finally:
        led.close()
    again = PgLedger(pg_url, spool=base)
    try:
        assert again.replayed == 0, "rows already committed were replayed again"
        assert again.written == 0
    finally:
        again.close()


def test_postgres_restart_mid_load_loses_no_spooled_row_and_writers_never_wait(pg_server: PostgresServer,
                                                                               pg_url: str, tmp_path: Path) -> None:
    led = PgLedger(pg_url, spool=tmp_path / "ledger.sqlite3")
    try:
        done, slowest = write_through_a_restart(led, pg_server, _ex, pause=0.005)
        assert led.flush(30)
        ids = set(_ids(led))
        assert done and set(done) <= ids, f"{len(set(done) - ids)} spooled rows missing"
        assert led.retries > 0, "the restart was not noticed: the test proved nothing"
        assert slowest < 0.5, f"a spooled write waited {slowest:.2f} s for PostgreSQL"
    finally:
        led.close()


def test_a_long_outage_makes_writers_wait_at_the_bound_and_drops_nothing(pg_server: PostgresServer, pg_url: str,
                                                                         tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_pg, "MAX_PENDING", 20)
    led = PgLedger(pg_url, spool=tmp_path / "ledger.sqlite3")
    exes = [_ex(i) for i in range(30)]
    try:
        pg_server.stop("fast")

        async def go() -> tuple[int, list[None]]:
            tasks = [spawn(led.write(ex)) for ex in exes]
            await asyncio.sleep(1.0)
            resolved = sum(t.done() for t in tasks)
            await asyncio.to_thread(pg_server.start)
            return resolved, await asyncio.wait_for(asyncio.gather(*tasks), 30)

        resolved, results = asyncio.run(go())
        assert resolved == 20, f"{resolved} of 30 writes resolved with a spool bound of 20 and PostgreSQL away"
        assert results == [None] * 30
        assert led.flush(30)
        assert sorted(_ids(led)) == sorted(ex.id for ex in exes)
    finally:
        if not pg_server.started:
            pg_server.start()
        led.close()


def test_the_journal_file_stays_bounded_while_rows_flow(pg_url: str, tmp_path: Path) -> None:
    led = PgLedger(pg_url, spool=tmp_path / "ledger.sqlite3", spool_bytes=32 * 1024)
    assert led.journal is not None
    biggest = over = 0
    try:
        async def go() -> None:
            nonlocal biggest, over
            for k in range(60):
                await asyncio.gather(*(led.write(_ex(k * 10 + i)) for i in range(10)))
                size = os.stat(led.journal.path).st_size  # type: ignore[union-attr]
                biggest = max(biggest, size)
                # beyond the bound: only rows not yet committed (and the batch being committed)
                over = max(over, size - 32 * 1024 - (led.journal.pending + 10) * 1200)  # type: ignore[union-attr]
                await asyncio.sleep(0.002)

        asyncio.run(go())
        assert led.flush(30)
        assert led.count() == 600
        assert led.journal.rotations > 0
        assert over <= 0, f"the journal reached {biggest} bytes, {over} past the bound and its pending rows"
        assert os.stat(led.journal.path).st_size <= 32 * 1024 + 1200
    finally:
        led.close()


def test_ready_and_metrics_show_rows_waiting_for_postgres(simulator_thread, pg_server: PostgresServer, pg_url: str,
                                                          tmp_path: Path, monkeypatch) -> None:
    from support.servers import wait_for

    from gateway.routes import views

    monkeypatch.setattr(views, "SPOOL_WARN", 2)
    cluster = Cluster(simulator_thread.url, 1, tmp_path, state_url=None, ledger_url=pg_url, rpm=100_000)
    (gw,) = cluster.instances
    try:
        with httpx.Client(timeout=10) as c:
            assert c.get(gw.url + "/ready").json()["ledger"] == {"spooled": 0}
            pg_server.stop("fast")
            for i in range(3):
                assert chat(c, gw.url, f"hello {i}").status_code == 200  # answered from the spool
            ready = c.get(gw.url + "/ready").json()
            assert ready["ledger"]["spooled"] == 3, ready
            assert any("3 rows wait in the local spool for PostgreSQL" in p for p in ready["problems"]), ready
            assert "xx_ledger_spooled 3" in c.get(gw.url + "/metrics").text
            pg_server.start()
            wait_for(lambda: c.get(gw.url + "/ready").json()["ledger"]["spooled"] == 0, 30.0, "the spool to drain")
    finally:
        if not pg_server.started:
            pg_server.start()
        cluster.stop()
