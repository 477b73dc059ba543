"""Several gateway instances on one Redis and one PostgreSQL, driven by a bounded load.

Used by tests/gateway/team and tests/bench/bench_team.py. Each instance is a real gateway
(Hypercorn on its own loopback port and event loop); the upstream is the simulator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from support.servers import GatewayThread, free_port

from gateway.config import Config, parse


def team_config_text(sim_url: str, port: int, *, state_url: str | None, ledger_url: str | None, rpm: int = 30,
                     minute_s: float = 60.0, cooldown_s: float = 30.0, failures: int = 3, extra: str = "") -> str:
    """Two models of one pool behind the simulator's OpenAI endpoint: `m1` first, `m2` its fallback."""
    parts = [
        f'[gateway]\nhost = "127.0.0.1"\nport = {port}\ndefault_tier = "free"\n',
        f'[providers.sim]\nprotocol = "openai"\nbase_url = "{sim_url.rstrip("/")}/v1"\npool = "team"\n',
        f"[pools.team]\nrpm = {rpm}\n",
        '[models.m1]\nprovider = "sim"\nid = "team-m1"\n',
        '[models.m2]\nprovider = "sim"\nid = "team-m2"\n',
        '[tiers.free]\nletter = "f"\nbig = ["m1", "m2"]\nmiddle = ["m1", "m2"]\nsmall = ["m1", "m2"]\n',
        f"[breaker]\nfailures = {failures}\ncooldown_s = {cooldown_s}\n",
    ]
    if state_url:
        parts.append(f'[state]\nurl = "{state_url}"\nminute_s = {minute_s}\n')
    if ledger_url:
        parts.append(f'[ledger]\nurl = "{ledger_url}"\n')
    return "\n".join(parts) + extra


def team_config(sim_url: str, **kw: object) -> Config:
    return parse(team_config_text(sim_url, free_port(), **kw), source="<team-test>", env={})  # type: ignore[arg-type]


class Cluster:
    """N in-process gateway instances with the same config (each its own port)."""

    def __init__(self, sim_url: str, n: int, tmp: Path, **kw: object) -> None:
        self.instances: list[GatewayThread] = []
        for i in range(n):
            cfg = team_config(sim_url, **kw)
            self.instances.append(GatewayThread(cfg, tmp / f"ledger{i}.sqlite3").start())

    @property
    def urls(self) -> list[str]:
        return [g.url for g in self.instances]

    def stop(self) -> None:
        for g in self.instances:
            g.stop()


def chat(client: httpx.Client, url: str, text: str, *, token: str | None = None) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": text}], "max_tokens": 16}
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return client.post(f"{url}/x/team/p/f/v1/chat/completions", json=body, headers=headers)


@dataclass
class LoadResult:
    statuses: list[int] = field(default_factory=list)
    exchanges: list[str] = field(default_factory=list)  # ids of 200 answers (their rows must exist)
    errors: list[str] = field(default_factory=list)  # transport errors (an instance killed under us)
    latencies: list[float] = field(default_factory=list)

    @property
    def server_errors(self) -> list[int]:
        return [s for s in self.statuses if s >= 500]


def run_load(urls: list[str], *, rate: float, seconds: float, workers: int = 6, token: str | None = None,
             during: Callable[[float], None] | None = None) -> LoadResult:
    """`rate` requests per second spread round-robin over `urls` for `seconds` (bounded, stops by itself).

    `during(elapsed)` runs in the caller's thread every 0.05 s (to stop a server mid-load).
    """
    out = LoadResult()
    lock = threading.Lock()
    t0 = time.monotonic()
    total = int(rate * seconds)
    counter = iter(range(total))

    def worker() -> None:
        with httpx.Client(timeout=30) as c:
            for i in counter:
                due = t0 + i / rate
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                url = urls[i % len(urls)]
                start = time.monotonic()
                try:
                    r = chat(c, url, f"load {i}", token=token)
                except httpx.HTTPError as exc:
                    with lock:
                        out.errors.append(f"{url}: {type(exc).__name__}")
                    continue
                with lock:
                    out.statuses.append(r.status_code)
                    out.latencies.append(time.monotonic() - start)
                    if r.status_code == 200 and "x-xx-exchange" in r.headers:
                        out.exchanges.append(r.headers["x-xx-exchange"])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if during is not None:
            during(time.monotonic() - t0)
        time.sleep(0.05)
    return out


def max_in_window(times: list[float], window: float) -> int:
    """The most events inside any half-open interval of `window` seconds."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best
