"""A free-tier working day, compressed: does tier `f` last 8 hours of Claude-Code-shaped work?

    python tests/bench/bench_free_tier_day.py [--speed 300] [--hours 8] [--seed 7] [--json]

The simulator plays every free provider of the default config at once (`/p/<provider>/...`)
and enforces each one's published free limits per key and per account, answering with the
provider's real 429 headers (gateway.simulator.limits). The gateway runs in this process on
a compressed clock shared with the simulator (one simulated second is 1/speed real seconds).
A Claude-Code-shaped workload drives it over the Anthropic Messages API: turns of a main
call followed by tool-result calls, a small side call (a haiku-class model) about every other
turn, bursts of five parallel sub-agent calls, and a few long-context turns. Three setups:

  a  static cascade over one OpenRouter key: the seed projects' setup (OpenRouter's :free
     models only, no local limits, no governor)
  b  the governor over the default config, one key per provider
  c  the same with two OpenRouter keys

Reported per setup: turns served (every call of the turn answered), 429s that reached the
agent, requests the providers refused (of all upstream attempts), p95 queueing delay for a
pool slot (simulated seconds). Exit 1 when (b) or (c) miss the goals (no 429 at the agent,
under 1 % refused by providers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.servers import GatewayThread, free_port  # noqa: E402

from gateway.config import default_text, parse  # noqa: E402
from gateway.simulator import SimulatorThread  # noqa: E402
from gateway.simulator.limits import LimitBook  # noqa: E402

DAY_START = 1_800_000_000 - 1_800_000_000 % 86400 + 9 * 3600  # 09:00 UTC: the working day
PROVIDERS = ("openrouter", "groq", "cerebras", "gemini", "mistral", "nvidia", "github")
KEYS = {"OPENROUTER_API_KEY": "sk-or-bench-1", "OPENROUTER_API_KEY_2": "sk-or-bench-2-other",
        "GROQ_API_KEY": "gsk-bench", "CEREBRAS_API_KEY": "csk-bench", "GEMINI_API_KEY": "AIza-bench",
        "MISTRAL_API_KEY": "mis-bench", "NVIDIA_API_KEY": "nvapi-bench", "GITHUB_TOKEN": "ghp-bench"}


class CompressedClock:
    """Simulated epoch seconds: DAY_START plus real elapsed time times `speed`."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return DAY_START + (time.monotonic() - self.t0) * self.speed

    async def sleep_until(self, t: float) -> None:
        delay = (t - self()) / self.speed
        if delay > 0:
            await asyncio.sleep(delay)


def default_config_for(sim_url: str, port: int, *, two_or_keys: bool) -> str:
    text = default_text().replace("port = 8082", f"port = {port}")
    for name in PROVIDERS:  # every provider is the simulator playing that provider
        text = re.sub(rf'(\[providers\.{name}\]\n(?:dialect|protocol) = "openai"[^\n]*\nbase_url = )"[^"]+"',
                      rf'\1"{sim_url}/p/{name}/v1"', text)
    if two_or_keys:
        text = text.replace('# api_keys = ["$OPENROUTER_API_KEY_2"]', 'api_keys = ["$OPENROUTER_API_KEY_2"]')
    return text


def seed_config_for(sim_url: str, port: int) -> str:
    """What the seed projects do: OpenRouter's :free models in a static cascade, no local limits."""
    models = "\n".join(
        f'[models.{n}]\nprovider = "openrouter"\nid = "{i}"\nfree = true\n'
        for n, i in (("kimi-free", "moonshotai/kimi-k2.6:free"), ("nemotron-free", "nvidia/nemotron-3-super-120b-a12b:free"),
                     ("deepseek-free", "deepseek/deepseek-v4-flash:free"), ("gpt-oss-free", "openai/gpt-oss-120b:free"),
                     ("nano-free", "nvidia/nemotron-3-nano-30b-a3b:free")))
    return (f'[gateway]\nport = {port}\ndefault_tier = "free"\n\n[providers.openrouter]\ndialect = "openai"\n'
            f'base_url = "{sim_url}/p/openrouter/v1"\napi_key = "$OPENROUTER_API_KEY"\n\n{models}\n'
            '[tiers.free]\nletter = "f"\nbig = ["kimi-free", "nemotron-free", "deepseek-free", "gpt-oss-free"]\n'
            'middle = ["deepseek-free", "nemotron-free", "kimi-free"]\nsmall = ["nano-free", "gpt-oss-free"]\n')


# -- the workload -------------------------------------------------------------------------


@dataclass
class Call:
    role: str  # big | middle | small | long
    tokens: int


@dataclass
class Turn:
    at: float  # simulated start
    calls: list[list[Call]] = field(default_factory=list)  # steps; the calls of one step run in parallel


def workload(hours: float, seed: int) -> list[Turn]:
    """Turns spread over the day; about 4.8 calls a turn, about 330 turns in 8 hours."""
    rng = random.Random(seed)
    turns, t, end = [], DAY_START, DAY_START + hours * 3600
    while True:
        t += rng.uniform(40, 135)  # the developer reads, thinks, types
        if t >= end:
            return turns
        long = rng.random() < 0.03
        turn = Turn(t, [[Call("long" if long else "big", 110_000 if long else rng.randint(4000, 9000))]])
        if rng.random() < 0.5:
            turn.calls[0].append(Call("small", rng.randint(300, 900)))  # title / summary side call
        if rng.random() < 0.15:
            turn.calls.append([Call("big", rng.randint(3000, 6000)) for _ in range(5)])  # five sub-agents at once
        for _ in range(rng.choice((1, 2, 3, 3, 4))):
            turn.calls.append([Call("middle", rng.randint(5000, 10000))])  # tool results back to the model
        turns.append(turn)


def body_for(call: Call) -> dict:
    filler = "x " * (call.tokens * 2)  # the gateway estimates tokens as bytes / 4
    if call.role == "small":
        return {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": filler}]}
    messages: list[dict] = [{"role": "user", "content": filler}]
    if call.role == "middle":
        messages += [{"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read",
                                                         "input": {"path": "a.py"}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}]
    return {"model": "claude-sonnet-4-6", "max_tokens": 256, "messages": messages}


@dataclass
class Tally:
    calls: int = 0
    ok: int = 0
    to_agent_429: int = 0
    other_errors: int = 0
    turns: int = 0
    turns_served: int = 0
    by_model: dict[str, int] = field(default_factory=dict)


async def one(session: aiohttp.ClientSession, url: str, call: Call, tally: Tally) -> bool:
    tally.calls += 1
    try:
        async with session.post(url, json=body_for(call)) as r:
            await r.read()
            if r.status == 200:
                tally.ok += 1
                model = r.headers.get("x-xx-model", "?")
                tally.by_model[model] = tally.by_model.get(model, 0) + 1
                return True
            if r.status == 429:
                tally.to_agent_429 += 1
            else:
                tally.other_errors += 1
            return False
    except aiohttp.ClientError:
        tally.other_errors += 1
        return False


async def drive(gw_url: str, turns: list[Turn], clock: CompressedClock) -> Tally:
    tally = Tally()
    url = f"{gw_url}/x/claude/p/free/v1/messages"
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout, headers={"anthropic-version": "2023-06-01"}) as session:
        for turn in turns:
            await clock.sleep_until(turn.at)
            served = True
            for step in turn.calls:
                results = await asyncio.gather(*(one(session, url, c, tally) for c in step))
                served &= all(results)
            tally.turns += 1
            tally.turns_served += served
    return tally


def run_setup(name: str, args: argparse.Namespace, turns: list[Turn]) -> dict:
    clock = CompressedClock(args.speed)
    with tempfile.TemporaryDirectory() as tmp, SimulatorThread() as sim:
        book = LimitBook(clock)
        sim.state.limits = book
        port = free_port()
        text = seed_config_for(sim.url, port) if name == "a" else default_config_for(sim.url, port, two_or_keys=name == "c")
        env = {k: v for k, v in KEYS.items() if name != "a" or k == "OPENROUTER_API_KEY"}
        cfg = parse(text, source=f"<bench {name}>", env=env)
        gw = GatewayThread(cfg, Path(tmp) / "ledger.sqlite3", clock=clock).start()
        try:
            if name == "a":  # no governor: the static cascade of the seed projects
                for hooks in (gw.rt.hooks.before_send, gw.rt.hooks.on_response, gw.rt.hooks.on_finish):
                    hooks.clear()
            else:
                gw.rt.governor.gates.scale = 1 / args.speed
            clock.t0 = time.monotonic()  # the day starts now
            t0 = time.monotonic()
            tally = asyncio.run(drive(gw.url, turns, clock))
            real_s = time.monotonic() - t0
            waits = sorted(gw.rt.governor.gates.waits)
        finally:
            gw.stop()
    attempts = book.admitted + book.refused
    return {
        "setup": name, "turns": tally.turns, "turns_served": tally.turns_served, "requests": tally.calls,
        "answered": tally.ok, "429_to_agent": tally.to_agent_429, "other_errors": tally.other_errors,
        "upstream_attempts": attempts, "provider_refusals": book.refused,
        "refused_pct": round(100 * book.refused / attempts, 2) if attempts else 0.0,
        "queue_p95_s": round(waits[int(len(waits) * 0.95)], 2) if waits else 0.0,
        "real_s": round(real_s, 1), "refusals": book.refusals, "served_by": dict(sorted(tally.by_model.items(), key=lambda kv: -kv[1])),
    }


def table(rows: list[dict]) -> str:
    head = "| setup | turns served | requests | 429s to the agent | refused by a provider | p95 queueing |"
    lines = [head, "|---|---|---|---|---|---|"]
    names = {"a": "(a) static cascade, one OpenRouter key", "b": "(b) governor, default config, one key each",
             "c": "(c) governor, two OpenRouter keys"}
    for r in rows:
        lines.append(f"| {names[r['setup']]} | {r['turns_served']} / {r['turns']} | {r['requests']} | "
                     f"{r['429_to_agent']} | {r['provider_refusals']} of {r['upstream_attempts']} ({r['refused_pct']} %) | "
                     f"{r['queue_p95_s']} s |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", type=float, default=300.0, help="simulated seconds per real second (default 300)")
    ap.add_argument("--hours", type=float, default=8.0, help="length of the simulated day (default 8)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--setups", default="abc", help="which setups to run (default abc)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    turns = workload(args.hours, args.seed)
    rows = [run_setup(name, args, turns) for name in args.setups]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(rows))
        for r in rows:
            print(f"{r['setup']}: served by {r['served_by']}; refused: {r['refusals']}; other errors {r['other_errors']};"
              f" {r['real_s']} s real")
    bad = [r for r in rows if r["setup"] in "bc" and (r["429_to_agent"] or r["refused_pct"] >= 1.0)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
