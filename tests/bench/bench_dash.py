"""Benchmark: can `xx dash` keep up with a flood of /xx/events?

A loopback admin server (tests/xx/dash/dash_admin_server.py) runs in a child process and sends
RATE exchange events per second for SECONDS seconds; the dashboard runs headless in this
process. Lag = time from the server stamping an event (`ended`) to the batch holding it being
applied to the state and pushed to the widgets. RSS is sampled every second.

    .venv/bin/python tests/bench/bench_dash.py [--rate 500] [--seconds 30] [--baseline REV]

`--baseline REV` first runs the same benchmark on REV (a git worktree in /tmp, its own code on
PYTHONPATH) and then on this tree, in the same run: on a shared machine only that comparison
means anything.

Not collected by pytest (tests/bench is in norecursedirs).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
TESTS = Path(os.environ.get("XX_BENCH_TREE") or HERE.parents[1]) / "tests"  # --baseline: that tree's helpers
sys.path.insert(0, str(TESTS))  # tests/, for support.servers
sys.path.insert(0, str(TESTS / "xx" / "dash"))

from dash_admin_server import AdminServer, free_port, load_fixtures  # noqa: E402


async def serve(rate: int, seconds: float, port: int) -> None:
    """Child process: serve the fixtures, wait for the dashboard, then flood."""
    fixtures = load_fixtures(time.time())
    srv = await AdminServer(fixtures, port=port).start()
    print("ready", flush=True)
    while srv.subscribers == 0:  # noqa: ASYNC110 (the server exposes a count, not an event)
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.0)
    templates = [e["data"] for e in fixtures["events"] if e["event"] == "exchange"]
    start = time.time()
    sent = 0
    while (elapsed := time.time() - start) < seconds:
        due = min(int(elapsed * rate) + 1, int(rate * seconds))
        while sent < due:  # scheduled by absolute time: no drift when a tick runs late
            ex = copy.copy(templates[sent % len(templates)])
            ex["id"] = f"bench{sent:09d}"
            ex["ended"] = time.time()
            ex["started"] = ex["ended"] - 2.0
            srv.push("exchange", ex)
            sent += 1
        await asyncio.sleep(0.005)
    print(f"sent {sent}", flush=True)
    await asyncio.sleep(3.0)
    await srv.stop()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(rate: int, seconds: float) -> dict[str, Any]:
    from xx.dash import create_app
    from xx.dash.messages import BatchApplied

    port = free_port()
    args = ["--serve", "--rate", str(rate), "--seconds", str(seconds), "--port", str(port)]
    child = await asyncio.create_subprocess_exec(sys.executable, __file__, *args, stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert (await child.stdout.readline()).strip() == b"ready"
    lags: list[float] = []
    batches: list[int] = []
    proc = psutil.Process(os.getpid())
    rss: list[tuple[float, float]] = []

    def hook(msg: object) -> None:
        if isinstance(msg, BatchApplied):
            n = 0
            for ev in msg.events:
                if ev.kind == "exchange" and str(ev.data.get("id", "")).startswith("bench"):
                    lags.append(msg.at - float(ev.data["ended"]))
                    n += 1
            if n:
                batches.append(n)

    app = create_app(f"http://127.0.0.1:{port}", poll_s=2.0, starter=None)
    t0 = time.time()
    cpu0 = sum(proc.cpu_times()[:2])
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        expected = int(rate * seconds)
        while time.time() - t0 < seconds + 15 and len(lags) < expected:
            rss.append((time.time() - t0, proc.memory_info().rss / 2**20))
            await pilot.pause(1.0)
        rss.append((time.time() - t0, proc.memory_info().rss / 2**20))
        cpu = sum(proc.cpu_times()[:2]) - cpu0
        rows = len(app.requests_log.keys)
        ring = len(app.state.requests)
    out = (await asyncio.wait_for(child.communicate(), 30))[0].decode()
    sent = int(next(line.split()[1] for line in out.splitlines() if line.startswith("sent")))
    return {
        "cpu_s": cpu,
        "sent": sent,
        "applied": len(lags),
        "lags": lags,
        "batches": batches,
        "rss": rss,
        "rows": rows,
        "ring": ring,
    }


def report(r: dict[str, Any], rate: int, seconds: float) -> None:
    lags = r["lags"]
    print(f"xx dash bench: {rate} events/s for {seconds:.0f}s through loopback SSE, app headless at 120x36")
    print(f"  events sent {r['sent']}, applied {r['applied']} ({r['applied'] / max(1, r['sent']):.1%})")
    print(
        f"  lag ms: p50 {pct(lags, 0.5) * 1000:.0f}  p95 {pct(lags, 0.95) * 1000:.0f}  "
        f"p99 {pct(lags, 0.99) * 1000:.0f}  max {max(lags, default=float('nan')) * 1000:.0f}"
    )
    print(
        f"  applies: {len(r['batches'])} batches, {len(r['batches']) / seconds:.1f}/s, "
        f"mean {statistics.mean(r['batches']) if r['batches'] else 0:.0f} events per batch"
    )
    print(f"  bounded: ring {r['ring']} exchanges, table {r['rows']} rows")
    print(f"  dashboard CPU: {r['cpu_s']:.1f} s for the run, {r['cpu_s'] / max(1, r['sent']) * 1e6:.0f} µs per event")
    marks = [*r["rss"][:: max(1, len(r["rss"]) // 8)], r["rss"][-1]]
    print("  RSS MiB over time: " + "  ".join(f"{t:.0f}s:{m:.0f}" for t, m in marks))
    # lag over time, in 5 s windows (is it falling behind?)
    if lags:
        n = len(lags)
        step = max(1, n // 6)
        print(
            "  p95 lag by sixth of the run (ms): "
            + " ".join(f"{pct(lags[i : i + step], 0.95) * 1000:.0f}" for i in range(0, n, step))
        )


def baseline(rev: str, rate: int, seconds: float) -> None:
    """Run this benchmark as it is at `rev`, on `rev`'s code, in a throwaway worktree."""
    root = HERE.parents[1]
    sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    tree = Path(f"/tmp/xx-bench-dash-{sha}")
    if not tree.exists():
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(tree), sha], check=True,
                       capture_output=True)
    try:
        print(f"baseline {rev} ({sha}):", flush=True)
        env = {**os.environ, "PYTHONPATH": str(tree), "XX_BENCH_TREE": str(tree)}  # this script, that tree's code
        subprocess.run([sys.executable, __file__, "--rate", str(rate), "--seconds", str(seconds)], env=env, check=True)
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], capture_output=True)
    print("this tree:", flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rate", type=int, default=500)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--baseline", metavar="REV", help="first run the same benchmark on REV (e.g. HEAD~1)")
    p.add_argument("--serve", action="store_true")
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    if a.serve:
        asyncio.run(serve(a.rate, a.seconds, a.port))
        return
    if a.baseline:
        baseline(a.baseline, a.rate, a.seconds)
    report(asyncio.run(run(a.rate, a.seconds)), a.rate, a.seconds)


if __name__ == "__main__":
    main()
