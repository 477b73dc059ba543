"""Gateway overhead, measured in one run against the simulated provider: direct vs through the gateway.

    python tests/bench/bench_gateway.py [--requests 2000] [--json]

Reports added latency p50/p99 (non-streaming, concurrency 1 and 32), added time to first
byte for streams, throughput at concurrency 32, gateway CPU per request, gateway RSS and
start-to-healthy time. The simulator and the gateway run as separate processes (as in real
use); the load generator is aiohttp in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[2]
BODY = {"model": "M", "messages": [{"role": "user", "content": "benchmark hello " * 20}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "gateway.simulator", "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    return proc, url


def start_gateway(sim_url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    from gateway.simulator.config import sim_config_text

    port = free_port()
    cfg = tmp / "config.toml"
    cfg.write_text(sim_config_text(sim_url, port=port, rpm=10_000_000, rpd=10_000_000))
    env = {**os.environ, "XX_CONFIG": str(cfg), "XDG_STATE_HOME": str(tmp / "state")}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stderr=subprocess.DEVNULL, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(proc, url)
    return proc, url, time.perf_counter() - t0


def wait_healthy(proc: subprocess.Popen[bytes], url: str, name: str = "gateway", timeout: float = 30.0) -> None:
    """Until `url`/health answers 200 (the benchmarks' gateways all start this way); kill and raise past `timeout`."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=0.2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.005)
    proc.kill()
    raise RuntimeError(f"the {name} gateway did not start")


async def one(session: aiohttp.ClientSession, url: str, body: dict, stream: bool) -> tuple[float, float]:
    t0 = time.perf_counter()
    async with session.post(url, json={**body, "stream": stream}) as r:
        first = None
        async for _ in r.content.iter_any():
            if first is None:
                first = time.perf_counter() - t0
        assert r.status == 200, r.status
    return time.perf_counter() - t0, first or 0.0


async def run(url: str, body: dict, n: int, concurrency: int, stream: bool = False) -> dict:
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        for _ in range(20):  # warm up connections on both hops
            await one(session, url, body, stream)
        lat: list[float] = []
        ttfb: list[float] = []
        queue = iter(range(n))

        async def worker() -> None:
            for _ in queue:
                total, first = await one(session, url, body, stream)
                lat.append(total)
                ttfb.append(first)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    q = statistics.quantiles(lat, n=100)
    return {"p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "rps": n / wall,
            "ttfb_p50_ms": statistics.median(ttfb) * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=1, help="run N times (fresh processes) and report each line's median")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    runs = [measure(args.requests) for _ in range(args.repeat)]
    out = median_of(runs)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    report(out, len(runs))


def median_of(runs: list[dict]) -> dict:
    """Each leaf of the result dicts replaced by its median over the runs (a shared VM is noisy)."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: median_of([r[k] for r in runs]) for k in first}
    return statistics.median(runs)


def measure(requests: int) -> dict:
    sim, sim_url = start_simulator()
    with tempfile.TemporaryDirectory() as tmpdir:
        gw, gw_url, healthy_s = start_gateway(sim_url, Path(tmpdir))
        try:
            from gateway.config import parse
            from gateway.simulator.config import sim_config_text

            cfg = parse(sim_config_text(sim_url), env={})
            tier = next(t for t in cfg.tiers.values() if t.roles.get("big")
                        and cfg.providers[cfg.models[t.roles["big"][0]].provider].dialect == "openai")
            model_id = cfg.models[tier.roles["big"][0]].id
            direct = sim_url + "/v1/chat/completions"
            via = f"{gw_url}/x/bench/p/{tier.name}/v1/chat/completions"
            body = {**BODY, "model": model_id}
            gproc = psutil.Process(gw.pid)
            out: dict = {"healthy_s": healthy_s}
            for label, conc, n in (("c1", 1, requests // 4), ("c32", 32, requests)):
                d = asyncio.run(run(direct, body, n, conc))
                cpu0 = sum(gproc.cpu_times()[:2])
                g = asyncio.run(run(via, body, n, conc))
                cpu = sum(gproc.cpu_times()[:2]) - cpu0
                out[label] = {"direct": d, "gateway": g, "added_p50_ms": g["p50_ms"] - d["p50_ms"],
                              "added_p99_ms": g["p99_ms"] - d["p99_ms"], "gateway_cpu_ms_per_req": cpu * 1000 / (n + 20)}
            ds = asyncio.run(run(direct, body, requests // 8, 1, stream=True))
            gs = asyncio.run(run(via, body, requests // 8, 1, stream=True))
            out["stream"] = {"direct_ttfb_ms": ds["ttfb_p50_ms"], "gateway_ttfb_ms": gs["ttfb_p50_ms"],
                             "added_ttfb_ms": gs["ttfb_p50_ms"] - ds["ttfb_p50_ms"]}
            out["gateway_rss_mb"] = gproc.memory_info().rss / 1e6
        finally:
            gw.terminate()
            gw.wait(10)
            sim.terminate()
            sim.wait(10)
    return out


def report(out: dict, n: int) -> None:
    if n > 1:
        print(f"(medians of {n} runs)")
    print(f"start-to-healthy        {out['healthy_s'] * 1000:8.0f} ms   (target <= 1000)")
    for label in ("c1", "c32"):
        r = out[label]
        print(f"[{label}] direct p50/p99      {r['direct']['p50_ms']:7.2f} / {r['direct']['p99_ms']:7.2f} ms   {r['direct']['rps']:7.0f} req/s")
        print(f"[{label}] gateway p50/p99     {r['gateway']['p50_ms']:7.2f} / {r['gateway']['p99_ms']:7.2f} ms   {r['gateway']['rps']:7.0f} req/s")
        print(f"[{label}] added p50/p99       {r['added_p50_ms']:7.2f} / {r['added_p99_ms']:7.2f} ms")
        print(f"[{label}] gateway CPU/request {r['gateway_cpu_ms_per_req']:7.2f} ms")
    s = out["stream"]
    print(f"stream TTFB direct/gw   {s['direct_ttfb_ms']:7.2f} / {s['gateway_ttfb_ms']:7.2f} ms  (added {s['added_ttfb_ms']:.2f})")
    print(f"gateway RSS             {out['gateway_rss_mb']:7.1f} MB   (target <= 80)")


if __name__ == "__main__":
    main()
