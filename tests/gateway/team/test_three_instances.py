"""Three gateway instances on one redis-server and one PostgreSQL (issue 15's done-when list).

The quota test compresses the minute: `[state] minute_s = 6` makes "rpm = 30" mean 30 calls in
any 6 s, so three times the allowed load runs for 14 s instead of two minutes. Upstream calls
are counted by the simulator's receive times.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.dbservers import PostgresServer, RedisServer
from support.servers import free_port, wait_for
from support.team_cluster import Cluster, max_in_window, run_load, team_config_text

WINDOW = 6.0


def _upstream_times(sim, model: str | None = None) -> list[float]:
    return [r["t"] for r in sim.requests() if r["model"] and (model is None or r["model"] == model)]


@pytest.mark.slow
def test_pool_rpm_holds_across_three_instances_under_triple_load(simulator_thread, redis_server: RedisServer,
                                                                  tmp_path: Path) -> None:
    cluster = Cluster(simulator_thread.url, 3, tmp_path, state_url=redis_server.url, ledger_url=None, rpm=30,
                      minute_s=WINDOW)
    try:
        load = run_load(cluster.urls, rate=3 * 30 / WINDOW, seconds=14.0)
    finally:
        cluster.stop()
    times = _upstream_times(simulator_thread)
    assert not load.server_errors, load.server_errors
    assert len(times) >= 50, f"only {len(times)} upstream calls: the pool was not used"
    assert 429 in load.statuses, "three times the limit was never refused: the test proved nothing"
    # Receive times lag Redis's reservation times by a few ms; 20 ms of slack covers that jitter.
    assert max_in_window(times, WINDOW - 0.02) <= 30, f"{max_in_window(times, WINDOW - 0.02)} calls in one window"


def _model_state(url: str, name: str) -> str:
    rows = httpx.get(url + "/xx/models", timeout=2).json()
    rows = rows.get("models", rows) if isinstance(rows, dict) else rows
    return next(r["state"] for r in rows if r["name"] == name)


def test_breaker_opened_on_one_is_honoured_by_all_within_a_second(simulator_thread, redis_server: RedisServer,
                                                                   tmp_path: Path) -> None:
    cluster = Cluster(simulator_thread.url, 3, tmp_path, state_url=redis_server.url, ledger_url=None, rpm=10_000,
                      cooldown_s=3.0)
    a, b, c = cluster.urls
    try:
        simulator_thread.always("team-m1", {"kind": "status", "status": 500})
        with httpx.Client(timeout=10) as client:
            for i in range(3):  # three failures on instance a open m1's breaker there
                client.post(a + "/x/team/p/f/v1/chat/completions",
                            json={"model": "m", "messages": [{"role": "user", "content": f"f{i}"}]})
        assert _model_state(a, "m1") == "open"
        opened = time.monotonic()
        wait_for(lambda: _model_state(b, "m1") == "open" and _model_state(c, "m1") == "open", 1.0,
                 "the breaker to reach instances b and c", interval=0.02)
        assert time.monotonic() - opened < 1.0
        before = simulator_thread.calls("team-m1")
        with httpx.Client(timeout=10) as client:
            for url in (b, c):
                r = client.post(url + "/x/team/p/f/v1/chat/completions",
                                json={"model": "m", "messages": [{"role": "user", "content": "after"}]})
                assert r.status_code == 200  # answered by m2
        assert simulator_thread.calls("team-m1") == before, "another instance still called the open model"

        # Half-open: the model answers slowly now; nine requests over three instances race for the probe.
        simulator_thread.always("team-m1", {"kind": "stall", "seconds": 1.0})
        wait_for(lambda: all(_model_state(u, "m1") == "half_open" for u in cluster.urls), 6.0, "half-open everywhere")
        before = simulator_thread.calls("team-m1")
        res = run_load(cluster.urls, rate=30, seconds=0.3, workers=9)
        assert not res.server_errors
        assert simulator_thread.calls("team-m1") - before == 1, "not exactly one half-open probe across three"
        wait_for(lambda: all(_model_state(u, "m1") in ("healthy", "degraded") for u in cluster.urls), 3.0,
                 "the probe's success to close the breaker everywhere")
    finally:
        cluster.stop()


@pytest.mark.slow
def test_redis_stopped_mid_load_degrades_without_5xx_and_comes_back(simulator_thread, redis_server: RedisServer,
                                                                    tmp_path: Path) -> None:
    cluster = Cluster(simulator_thread.url, 3, tmp_path, state_url=redis_server.url, ledger_url=None, rpm=30,
                      minute_s=WINDOW)
    seen: dict[str, object] = {}

    def chaos(elapsed: float) -> None:
        if elapsed > 2.0 and "stopped" not in seen:
            redis_server.stop()
            seen["stopped"] = time.time()
        if elapsed > 4.0 and "ready" not in seen:
            seen["ready"] = httpx.get(cluster.urls[0] + "/ready", timeout=2).json()
        if elapsed > 9.0 and "started" not in seen:
            redis_server.start()
            seen["started"] = time.time()

    try:
        load = run_load(cluster.urls, rate=3 * 30 / WINDOW, seconds=11.0, during=chaos)
        assert not load.server_errors, f"5xx while Redis was away: {load.server_errors}"
        ready = seen["ready"]
        assert isinstance(ready, dict) and ready["state"]["shared"] is False, ready
        assert any("degraded" in p for p in ready["problems"])
        degraded = [t for t in _upstream_times(simulator_thread)
                    if float(seen["stopped"]) + 0.5 < t < float(seen["started"])]  # type: ignore[arg-type]
        assert max_in_window(degraded, WINDOW - 0.02) <= 30, "degraded limits (30 / 3 instances each) not kept"
        wait_for(lambda: all(httpx.get(u + "/ready", timeout=2).json()["state"]["shared"] for u in cluster.urls),
                 5.0, "shared state to resume on every instance")
    finally:
        cluster.stop()


def test_postgres_restart_mid_load_loses_no_row(simulator_thread, redis_server: RedisServer,
                                                 pg_server: PostgresServer, pg_url: str, tmp_path: Path) -> None:
    cluster = Cluster(simulator_thread.url, 3, tmp_path, state_url=redis_server.url, ledger_url=pg_url, rpm=100_000)
    done: dict[str, bool] = {}

    def chaos(elapsed: float) -> None:
        if elapsed > 1.0 and "restarted" not in done:
            pg_server.stop("fast")
            time.sleep(0.5)
            pg_server.start()
            done["restarted"] = True

    try:
        load = run_load(cluster.urls, rate=40, seconds=4.0, during=chaos)
        assert not load.server_errors, load.server_errors
        assert len(load.exchanges) > 50
        for g in cluster.instances:  # spooled rows (the default commit mode) reach PostgreSQL a moment later
            assert g.rt.ledger.flush(30)
        rows = cluster.instances[0].rt.ledger._read("SELECT id, instance FROM exchanges")
        ids = {r[0] for r in rows}
        missing = [x for x in load.exchanges if x not in ids]
        assert not missing, f"{len(missing)} of {len(load.exchanges)} answered requests missing after the restart"
        assert len({r[1] for r in rows}) == 3, "one ledger holds all three instances' rows"
        team_rows = httpx.get(cluster.urls[1] + "/xx/requests?limit=1000", timeout=5).json()["requests"]
        assert len(team_rows) == len(ids), "an instance's /xx/requests shows the whole team's traffic"
    finally:
        cluster.stop()


def _start_process(cfg_text: str, tmp: Path, i: int) -> tuple[subprocess.Popen, str]:
    cfg = tmp / f"config{i}.toml"
    cfg.write_text(cfg_text)
    state = tmp / f"state{i}"
    state.mkdir(exist_ok=True)  # a restart keeps its state dir (and the ledger's spool in it)
    env = {**os.environ, "XX_CONFIG": str(cfg), "XDG_STATE_HOME": str(state)}
    log = (state / "stdout.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{cfg_text.split('port = ', 1)[1].split()[0]}"
    try:
        wait_for(lambda: _up(url), 20, f"gateway process {i}")
    except AssertionError:
        proc.kill()
        raise AssertionError((state / "stdout.log").read_text()[-2000:]) from None
    return proc, url


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=0.3).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("commit", ["sync", "spool"])
def test_kill_9_of_one_instance_loses_no_completed_row(simulator_thread, redis_server: RedisServer,
                                                       pg_server: PostgresServer, pg_url: str, tmp_path: Path,
                                                       commit: str) -> None:
    """sync: every answered row is in PostgreSQL at once. spool: PostgreSQL is away when the instance is
    killed, so its last answered rows are only in its journal; they reach PostgreSQL when it starts again
    on its state dir (replayed before it serves)."""
    procs = []
    texts = []
    try:
        for i in range(3):
            text = team_config_text(simulator_thread.url, free_port(), state_url=redis_server.url, ledger_url=pg_url,
                                    rpm=100_000, extra=f'commit = "{commit}"\n')
            texts.append(text)
            procs.append(_start_process(text, tmp_path, i))
        killed: dict[str, float] = {}

        def chaos(elapsed: float) -> None:
            if commit == "spool" and elapsed > 1.0 and "pg" not in killed:
                pg_server.stop("fast")
                killed["pg"] = elapsed
            if elapsed > 1.5 and "at" not in killed:
                procs[0][0].send_signal(signal.SIGKILL)
                killed["at"] = elapsed
            if commit == "spool" and elapsed > 2.0 and not pg_server.started:
                pg_server.start()

        load = run_load([u for _, u in procs], rate=45, seconds=4.0, during=chaos)
        assert killed and load.errors, "the instance was not killed under load"
        assert len(load.exchanges) > 60
        if commit == "spool":
            procs[0][0].wait(5)
            procs.append(_start_process(texts[0], tmp_path, 0))  # same state dir: replays the journal first
            log = (tmp_path / "state0" / "stdout.log").read_text()
            assert "from a previous run committed" in log, "no row waited in the journal: the test proved nothing"
            for _, url in procs[1:3]:  # the survivors' spooled rows: a read waits for them to commit
                httpx.get(url + "/xx/requests?limit=1", timeout=30)
        import asyncio

        import asyncpg

        async def ids() -> set[str]:
            conn = await asyncpg.connect(pg_url)
            try:
                return {r[0] for r in await conn.fetch("SELECT id FROM exchanges")}
            finally:
                await conn.close()

        stored = asyncio.run(ids())
        missing = [x for x in load.exchanges if x not in stored]
        assert not missing, f"{len(missing)} of {len(load.exchanges)} completed requests missing from the team ledger"
    finally:
        for proc, _ in procs:
            proc.kill()
            proc.wait(5)
