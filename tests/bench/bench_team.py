"""Team mode's cost and reach, measured in one run against the simulated provider.

    python tests/bench/bench_team.py [--requests 600] [--seconds 6] [--json]
    python tests/bench/bench_team.py drivers      # only the PostgreSQL driver comparison

Reports, with the same simulator and load generator:
- added p50 per request at concurrency 1 and gateway CPU per request: embedded defaults
  (in-process state, SQLite) against team mode (Redis state + PostgreSQL ledger), with the
  CPU of redis-server and postgres per request beside it; team mode with `[ledger] commit =
  "sync"` ("team": each response waits for its PostgreSQL commit) and "spool" ("team_spool":
  each response waits for its line in the local journal, gateway.accounting.spool);
- throughput at concurrency 32 of one team instance against three (round-robin);
- the ledger's write pattern on asyncpg and on psycopg 3 (why the ledger uses asyncpg).
Each gateway is its own process (as in real use); redis-server and PostgreSQL start on
private sockets in a temp dir (tests/support/dbservers.py). Runs alternate A/B/A/B so
machine noise hits both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench_gateway import start_simulator, wait_healthy  # noqa: E402  (this folder: run as a script)
from support.dbservers import PostgresServer, RedisServer  # noqa: E402
from support.servers import free_port  # noqa: E402
from support.team_cluster import team_config_text  # noqa: E402

BODY = {"model": "M", "messages": [{"role": "user", "content": "benchmark hello " * 20}], "max_tokens": 16}


def start_gateway(text: str, tmp: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    cfg = tmp / f"{name}.toml"
    cfg.write_text(text)
    env = {**os.environ, "XX_CONFIG": str(cfg), "XDG_STATE_HOME": str(tmp / f"state-{name}")}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stderr=subprocess.DEVNULL, cwd=ROOT)
    url = f"http://127.0.0.1:{text.split('port = ', 1)[1].split()[0]}"
    wait_healthy(proc, url, name)
    return proc, url


async def run(urls: list[str], n: int, concurrency: int) -> dict[str, float]:
    lat: list[float] = []
    errors = 0
    counter = iter(range(n))
    async with aiohttp.ClientSession() as session:
        async def worker() -> None:
            nonlocal errors
            for i in counter:
                url = urls[i % len(urls)] + "/x/bench/p/f/v1/chat/completions"
                t0 = time.perf_counter()
                async with session.post(url, json=BODY) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
                lat.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {"p50_ms": statistics.median(lat) * 1000, "rps": n / wall, "errors": errors}


def cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            for q in [p, *p.children(recursive=True)]:
                t = q.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
    return total


def measure_latency(urls: list[str], gw: list[psutil.Process], backends: list[psutil.Process], n: int) -> dict:
    asyncio.run(run(urls, 50, 1))  # warm-up
    g0, b0 = cpu_s(gw), cpu_s(backends)
    r = asyncio.run(run(urls, n, 1))
    r["gateway_cpu_us"] = (cpu_s(gw) - g0) / n * 1e6
    r["backends_cpu_us"] = (cpu_s(backends) - b0) / n * 1e6
    return r


def bench_modes(requests: int, seconds: float, n_rounds: int = 2) -> dict:
    sim, sim_url = start_simulator()
    redis, pg = RedisServer().start(), PostgresServer().init().start()
    db = pg.create_db()
    backends = [psutil.Process(redis.proc.pid)] if redis.proc else []
    backends += [p for p in psutil.process_iter(["cmdline"]) if str(pg.data) in " ".join(p.info["cmdline"] or [])]
    procs: list[subprocess.Popen[bytes]] = []
    out: dict = {}
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            big = 10_000_000

            def text(state: bool, ledger: bool, fsync: bool = True, commit: str = "sync") -> str:
                return team_config_text(sim_url, free_port(), state_url=redis.url if state else None,
                                        ledger_url=db if ledger else None, rpm=big,
                                        extra=("" if fsync else "synchronous_commit = false\n")
                                        + (f'commit = "{commit}"\n' if ledger else ""))

            emb, emb_url = start_gateway(text(False, False), tmp, "embedded")
            red, red_url = start_gateway(text(True, False), tmp, "redis-only")
            pgo, pg_url = start_gateway(text(False, True), tmp, "postgres-only")
            nofs, nofs_url = start_gateway(text(True, True, fsync=False), tmp, "team-async-commit")
            spool, spool_url = start_gateway(text(True, True, commit="spool"), tmp, "team-spool")
            pgsp, pgsp_url = start_gateway(text(False, True, commit="spool"), tmp, "postgres-spool")
            teams = [start_gateway(text(True, True), tmp, f"team{i}") for i in range(3)]
            procs += [emb, red, pgo, nofs, spool, pgsp, *(p for p, _ in teams)]
            team_url = teams[0][1]
            modes = {"embedded": (emb_url, emb), "redis_state": (red_url, red), "postgres_ledger": (pg_url, pgo),
                     "team": (team_url, teams[0][0]), "team_async_commit": (nofs_url, nofs),
                     "team_spool": (spool_url, spool), "postgres_spool": (pgsp_url, pgsp)}
            rounds: dict[str, list[dict]] = {m: [] for m in modes}
            for _ in range(n_rounds):
                for mode, (url, proc) in modes.items():
                    rounds[mode].append(measure_latency([url], [psutil.Process(proc.pid)], backends, requests))
            for mode, runs in rounds.items():
                out[mode] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            out["added_p50_ms"] = out["team"]["p50_ms"] - out["embedded"]["p50_ms"]
            out["added_cpu_us"] = out["team"]["gateway_cpu_us"] - out["embedded"]["gateway_cpu_us"]
            for name, mode in (("spool", "team_spool"), ("ledger_sync", "postgres_ledger"), ("ledger_spool", "postgres_spool")):
                out[f"{name}_added_p50_ms"] = out[mode]["p50_ms"] - out["embedded"]["p50_ms"]
                out[f"{name}_added_cpu_us"] = out[mode]["gateway_cpu_us"] - out["embedded"]["gateway_cpu_us"]
            n = int(seconds * 300)
            one = asyncio.run(run([team_url], n, 32))
            three = asyncio.run(run([u for _, u in teams], n, 32))
            out["throughput_c32"] = {"one_instance_rps": one["rps"], "three_instances_rps": three["rps"],
                                     "errors": one["errors"] + three["errors"]}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        sim.terminate()
        redis.cleanup()
        pg.cleanup()
    return out


# -- the ledger's driver ------------------------------------------------------------------

COLS = 31  # an exchanges row: ~30 columns, short texts and numbers
DDL = "CREATE TABLE IF NOT EXISTS x (id text primary key, started double precision, " + ", ".join(
    f"c{i} text" for i in range(COLS - 2)) + ")"
INS = "INSERT INTO x VALUES (" + ", ".join(f"${i + 1}" for i in range(COLS)) + ") ON CONFLICT (id) DO NOTHING"
INS_PSYCOPG = "INSERT INTO x VALUES (" + ", ".join(["%s"] * COLS) + ") ON CONFLICT (id) DO NOTHING"


def _row() -> tuple:
    import uuid

    return (uuid.uuid4().hex, time.time(), *["abcdefgh"] * (COLS - 2))


async def _asyncpg(dsn_dir: str, singles: int, batches: int) -> dict:
    import asyncpg

    c = await asyncpg.connect(host=dsn_dir, user="postgres", database="postgres")
    await c.execute(DDL)
    lat, c0 = [], time.process_time()
    for _ in range(singles):
        t = time.perf_counter()
        async with c.transaction():
            await c.executemany(INS, [_row()])
        lat.append(time.perf_counter() - t)
    c1, t0 = time.process_time(), time.perf_counter()
    for _ in range(batches):
        async with c.transaction():
            await c.executemany(INS, [_row() for _ in range(50)])
    wall, c2 = time.perf_counter() - t0, time.process_time()
    await c.close()
    return {"commit_1_row_p50_ms": statistics.median(lat) * 1000, "cpu_1_row_us": (c1 - c0) / singles * 1e6,
            "batch50_rows_per_s": batches * 50 / wall, "cpu_per_row_batched_us": (c2 - c1) / (batches * 50) * 1e6}


async def _psycopg(dsn_dir: str, singles: int, batches: int) -> dict:
    import psycopg

    c = await psycopg.AsyncConnection.connect(f"host={dsn_dir} user=postgres dbname=postgres")
    await c.execute(DDL)
    await c.commit()
    lat, c0 = [], time.process_time()
    for _ in range(singles):
        t = time.perf_counter()
        async with c.transaction(), c.cursor() as cur:
            await cur.executemany(INS_PSYCOPG, [_row()])
        lat.append(time.perf_counter() - t)
    c1, t0 = time.process_time(), time.perf_counter()
    for _ in range(batches):
        async with c.transaction(), c.cursor() as cur:
            await cur.executemany(INS_PSYCOPG, [_row() for _ in range(50)])
    wall, c2 = time.perf_counter() - t0, time.process_time()
    await c.close()
    return {"commit_1_row_p50_ms": statistics.median(lat) * 1000, "cpu_1_row_us": (c1 - c0) / singles * 1e6,
            "batch50_rows_per_s": batches * 50 / wall, "cpu_per_row_batched_us": (c2 - c1) / (batches * 50) * 1e6}


def bench_drivers(singles: int = 300, batches: int = 40) -> dict:
    pg = PostgresServer().init().start()
    out: dict[str, list[dict]] = {"asyncpg": [], "psycopg3": []}
    try:
        for _ in range(3):  # alternate: noise hits both
            out["asyncpg"].append(asyncio.run(_asyncpg(str(pg.dir), singles, batches)))
            try:
                out["psycopg3"].append(asyncio.run(_psycopg(str(pg.dir), singles, batches)))
            except ImportError:
                out.pop("psycopg3", None)
                break
    finally:
        pg.cleanup()
    return {name: {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]} for name, runs in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", nargs="?", choices=["all", "drivers"], default="all")
    ap.add_argument("--requests", type=int, default=600, help="requests per latency run (concurrency 1)")
    ap.add_argument("--seconds", type=float, default=6.0, help="scale of the throughput runs")
    ap.add_argument("--rounds", type=int, default=2, help="A/B/A/B rounds of the latency runs (medians reported)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict = {"drivers": bench_drivers()}
    if args.what == "all":
        out |= bench_modes(args.requests, args.seconds, args.rounds)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for name, d in out["drivers"].items():
        print(f"ledger driver {name:9} 1-row commit p50 {d['commit_1_row_p50_ms']:.3f} ms, client CPU {d['cpu_1_row_us']:.0f} us;"
              f" batched {d['batch50_rows_per_s']:.0f} rows/s, CPU/row {d['cpu_per_row_batched_us']:.1f} us")
    if "team" in out:
        for mode in ("embedded", "redis_state", "postgres_ledger", "postgres_spool", "team", "team_async_commit",
                     "team_spool"):
            m = out[mode]
            print(f"{mode:17} c=1 p50 {m['p50_ms']:.2f} ms, gateway CPU/request {m['gateway_cpu_us']:.0f} us,"
                  f" redis+postgres CPU/request {m['backends_cpu_us']:.0f} us")
        print(f"team adds p50 {out['added_p50_ms']:+.2f} ms and gateway CPU {out['added_cpu_us']:+.0f} us per request"
              f" (synchronous_commit = false: p50 {out['team_async_commit']['p50_ms'] - out['embedded']['p50_ms']:+.2f} ms)")
        print(f"team with commit = \"spool\" adds p50 {out['spool_added_p50_ms']:+.2f} ms and gateway CPU"
              f" {out['spool_added_cpu_us']:+.0f} us per request")
        for name in ("ledger_sync", "ledger_spool"):
            print(f"PostgreSQL ledger alone, commit = {name.split('_')[1]!r}: p50 {out[f'{name}_added_p50_ms']:+.2f} ms,"
                  f" gateway CPU {out[f'{name}_added_cpu_us']:+.0f} us per request")
        t = out["throughput_c32"]
        print(f"throughput c=32: one instance {t['one_instance_rps']:.0f} req/s, three {t['three_instances_rps']:.0f}"
              f" req/s ({t['errors']} errors; 2 cores shared by everything)")


if __name__ == "__main__":
    main()
