"""What the guards (gateway/guards) add to a request whose answer has no tool call, guards on vs off, one run.

    python tests/bench/bench_guards.py [--iterations 3000] [--requests 400] [--baseline REV] [--json]

1. In process (the precise number): for a Claude Code-sized request (24 tools, 40 turns of
   history), the time of `Guards.before` + wrapping the stream translator + feeding a typical
   text answer through it, minus the same answer through the bare translator. Interleaved
   on/off, pass-through (Anthropic -> Anthropic) and translated (Chat -> Anthropic), plus the
   whole-body guard of a JSON answer.
2. End to end, guards on vs off: two gateways of this tree against the same simulator, one with
   the default `[guards]`, one with every guard off in its config; requests go to both
   alternately (concurrency 1, streamed and not), so machine noise hits both alike.
3. With `--baseline REV`: the same against a gateway of REV (e.g. the commit before the guards
   were wired), started from a git worktree; that difference also holds everything else that
   changed since REV.
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
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))
OFF = "\n[guards]\nloop = false\ndanger = false\nrepair = false\ncommands = false\n"


def claude_body() -> dict[str, Any]:
    schema = {"type": "object", "properties": {"command": {"type": "string", "description": "x" * 200},
                                               "timeout": {"type": "number"}}, "required": ["command"]}
    tools = [{"name": f"Tool{i}", "description": "does things " * 80, "input_schema": schema} for i in range(23)]
    tools.append({"name": "Bash", "description": "Executes a bash command " * 40, "input_schema": schema})
    msgs: list[dict[str, Any]] = []
    for i in range(10):
        msgs.append({"role": "user", "content": [{"type": "text", "text": f"step {i}: " + "please look at the code " * 30}]})
        msgs.append({"role": "assistant", "content": [{"type": "text", "text": "Looking. " * 20},
                                                      {"type": "tool_use", "id": f"t{i}", "name": "Bash",
                                                       "input": {"command": f"grep -rn thing{i} src"}}]})
        msgs.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}",
                                                  "content": "src/a.py:1: thing\n" * 40}]})
        msgs.append({"role": "assistant", "content": [{"type": "text", "text": "Found it. " * 30}]})
    msgs.append({"role": "user", "content": [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                                             {"type": "text", "text": "now summarise what you found"}]})
    return {"model": "claude-sonnet-4-6", "max_tokens": 4096, "system": "You are Claude Code. " * 300,
            "tools": tools, "messages": msgs, "stream": True,
            "metadata": {"user_id": json.dumps({"session_id": "bench-session"})}}


def answers() -> dict[str, bytes]:
    """A typical text answer (no tool call) as an Anthropic and as a Chat stream."""
    from gateway.guards.reply import stream_answer

    text = "Here is a summary of what I found in the code base. " * 12
    return {"anthropic": stream_answer(text, "anthropic", "m"), "openai": stream_answer(text, "openai", "m")}


def micro(iterations: int) -> dict[str, Any]:
    import orjson

    from gateway.config import parse
    from gateway.exchange import Exchange
    from gateway.guards.hooks import Guards
    from gateway.identify import Ident
    from gateway.passthrough import CheckedPassThrough
    from gateway.protocols.streams import stream_translator
    from gateway.simulator.config import sim_config_text

    cfg = parse(sim_config_text("http://127.0.0.1:9"), env={})
    guards = Guards(lambda: cfg, time.time)
    body = claude_body()
    raw = orjson.dumps(body)
    ans = answers()
    json_answer = orjson.dumps({"id": "msg", "type": "message", "role": "assistant", "content": [
        {"type": "text", "text": "summary " * 100}], "stop_reason": "end_turn", "usage": {"input_tokens": 1}})

    def make(src: str) -> Any:
        return CheckedPassThrough("anthropic") if src == "anthropic" else stream_translator(src, "anthropic",
                                                                                              requested_model="m")

    def once(src: str, on: bool) -> float:
        inc = SimpleNamespace(dialect="anthropic", ident=Ident("claude", "p", "f"), path="/x/claude/p/f/v1/messages",
                              raw=raw, body=body, headers={}, stream=True, model="claude-sonnet-4-6")
        ex = Exchange(session="s")
        data = ans[src]
        t0 = time.perf_counter()
        tr = make(src)
        if on:
            guards.before(inc, ex)
            tr = guards.stream(tr, inc, ex)
        for i in range(0, len(data), 400):
            tr.feed(data[i:i + 400])
        tr.close()
        return time.perf_counter() - t0

    def body_once(on: bool) -> float:
        inc = SimpleNamespace(dialect="anthropic", ident=Ident("claude", "p", "f"), path="/x/claude/p/f/v1/messages",
                              raw=raw, body=body, headers={}, stream=False, model="m")
        t0 = time.perf_counter()
        parsed = orjson.loads(json_answer)
        if on:
            guards.before(inc, Exchange(session="s"))
            guards.body(parsed, "anthropic", inc, Exchange())
        return time.perf_counter() - t0

    return {label: compare(fn, iterations) for label, fn in (
        ("passthrough_stream", lambda on: once("anthropic", on)),
        ("translated_stream", lambda on: once("openai", on)), ("json_body", body_once))}


def compare(fn: Any, iterations: int) -> dict[str, float]:
    """`fn(on)` timed on and off, interleaved so machine noise hits both alike."""
    for _ in range(200):
        fn(True), fn(False)
    on_t, off_t = [], []
    for _ in range(iterations):
        on_t.append(fn(True))
        off_t.append(fn(False))
    return {"on_p50_us": statistics.median(on_t) * 1e6, "off_p50_us": statistics.median(off_t) * 1e6,
            "added_p50_us": (statistics.median(on_t) - statistics.median(off_t)) * 1e6,
            "added_p99_us": (statistics.quantiles(on_t, n=100)[98] - statistics.quantiles(off_t, n=100)[98]) * 1e6}


def start_gateway(tree: Path, sim_url: str, tmp: Path, name: str, extra: str = "") -> tuple[subprocess.Popen[bytes], str]:
    from bench_gateway import free_port, wait_healthy

    from gateway.simulator.config import sim_config_text

    port = free_port()
    cfg = tmp / f"{name}.toml"
    cfg.write_text(sim_config_text(sim_url, port=port, rpm=10_000_000, rpd=10_000_000) + extra)
    env = {**os.environ, "XX_CONFIG": str(cfg), "XDG_STATE_HOME": str(tmp / f"state-{name}"), "PYTHONPATH": str(tree)}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stderr=subprocess.DEVNULL, cwd=tree)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(proc, url, name)
    return proc, url


async def alternate(urls: dict[str, str], body: dict[str, Any], n: int, stream: bool) -> dict[str, Any]:
    import aiohttp
    from bench_gateway import one

    lat: dict[str, list[float]] = {k: [] for k in urls}
    async with aiohttp.ClientSession() as session:
        for _ in range(20):
            for url in urls.values():
                await one(session, url, body, stream)
        for _ in range(n):
            for name, url in urls.items():
                lat[name].append((await one(session, url, body, stream))[0])
    p50 = {k: statistics.median(v) * 1000 for k, v in lat.items()}
    paired = statistics.median(a - b for a, b in zip(lat["guards"], lat["baseline"], strict=True)) * 1000
    return {**{f"{k}_p50_ms": v for k, v in p50.items()}, "added_p50_ms": p50["guards"] - p50["baseline"],
            "paired_added_p50_ms": paired}  # median of back-to-back differences: steadier under a drifting load


def end_to_end(requests: int, baseline: str | None) -> dict[str, Any]:
    """Guards on vs off (same tree), or this tree vs `baseline` (a git revision) when given."""
    from bench_gateway import start_simulator

    sim, sim_url = start_simulator()
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        wt = tmp / "baseline"
        try:
            if baseline:
                subprocess.run(["git", "worktree", "add", "-q", "--detach", str(wt), baseline], cwd=ROOT, check=True)
            g, gurl = start_gateway(ROOT, sim_url, tmp, "guards")
            procs.append(g)
            b, burl = start_gateway(wt, sim_url, tmp, "baseline") if baseline else start_gateway(ROOT, sim_url, tmp,
                                                                                               "baseline", OFF)
            procs.append(b)
            body = {**claude_body(), "model": "claude-sim-sonnet"}
            path = "/x/claude/p/c/v1/messages"  # tier c: Anthropic upstream, the pass-through path
            urls = {"guards": gurl + path, "baseline": burl + path}
            return {"baseline": baseline or "same tree, [guards] all off", "json": asyncio.run(alternate(urls, body, requests, False)),
                    "stream": asyncio.run(alternate(urls, body, requests, True))}
        finally:
            for p in procs:
                p.terminate()
                p.wait(10)
            sim.terminate()
            sim.wait(10)
            if baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=ROOT, check=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=3000, help="in-process repetitions per case")
    ap.add_argument("--requests", type=int, default=400, help="end-to-end requests per gateway and mode")
    ap.add_argument("--baseline", default=None, help="compare with a gateway of this git revision instead of guards off")
    ap.add_argument("--skip-e2e", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = {"in_process": micro(args.iterations)}
    if not args.skip_e2e:
        out["end_to_end"] = end_to_end(args.requests, args.baseline)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for label, r in out["in_process"].items():
        print(f"{label:<20} on {r['on_p50_us']:8.1f} us  off {r['off_p50_us']:8.1f} us  "
              f"added p50 {r['added_p50_us']:7.1f} us  p99 {r['added_p99_us']:7.1f} us   (target < 200 us)")
    if "end_to_end" in out:
        for mode in ("json", "stream"):
            r = out["end_to_end"][mode]
            print(f"end-to-end {mode:<6}  guards {r['guards_p50_ms']:6.2f} ms  baseline {r['baseline_p50_ms']:6.2f} ms  "
                  f"added p50 {r['added_p50_ms']:+.3f} ms, paired {r['paired_added_p50_ms']:+.3f} ms   "
                  f"(baseline: {out['end_to_end']['baseline']})")


if __name__ == "__main__":
    main()
