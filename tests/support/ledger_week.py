"""A known week of traffic in a real ledger file, and the table a person computed from it by hand.

Shared by the `xx usage` and `/xx/usage` tests (gateway/accounting/usage.py). `gpt-paid` has a
price in the config (input 1, output 2, cache read 0.1, cache write 1.25 $/M), so its stale
ledger cost (9.9) must be replaced; `kimi-free` has none, so its ledger saving (0.002) stands.
"""

from __future__ import annotations

import calendar
from pathlib import Path

from gateway.accounting.ledger import INSERT, connect, sqlite_row
from gateway.config.model import Price
from gateway.exchange import Attempt, Exchange, Usage

NOW = float(calendar.timegm((2026, 11, 28, 12, 0, 0)))
DAY = 86400.0
PRICES = {"gpt-paid": Price(input=1.0, output=2.0, cache_read=0.1, cache_write=1.25)}

# day offset, agent, model served (None: nothing), requested, tier, provider, key, status,
# input, output, cache_read, cache_write, ledger cost, ledger saved
SPEC = [
    (-8, "claude", "kimi-free", "claude-sonnet", "free", "openrouter", "k1", 200, 99999, 9, 0, 0, 0.0, 0.0),  # before the week
    (-6, "claude", "kimi-free", "claude-sonnet", "free", "openrouter", "k1", 200, 1000, 100, 800, 0, 0.0, 0.0),
    (-6, "codex", "gpt-paid", "gpt-5-codex", "paid", "openai", "k2", 200, 2000, 200, 1000, 500, 9.9, 9.9),
    (-5, "claude", None, "claude-sonnet", "free", None, None, 429, 0, 0, 0, 0, 0.0, 0.0),
    (-3, "claude", "nemotron-free", "claude-sonnet", "free", "openrouter", "k1", 200, 4000, 400, 3000, 0, 0.0, 0.0),
    (-3, "qwen", "gpt-paid", "qwen3-coder", "paid", "openai", "k2", 200, 10000, 1000, 0, 0, 0.0, 0.0),
    (-1, "codex", None, "gpt-5-codex", "paid", None, None, 500, 0, 0, 0, 0, 0.0, 0.0),
    (0, "claude", "kimi-free", "claude-sonnet", "free", "openrouter", "k1", 200, 3000, 300, 2500, 0, 0.0, 0.002),
]

# by hand: requests, errors, error_rate, in, out, cache read, cache write, cost $, saved $
BY_AGENT = {
    "claude": (4, 1, 0.25, 8000, 800, 6300, 0, 0.0, 0.002),
    "codex": (2, 1, 0.5, 2000, 200, 1000, 500, 0.001625, 0.000775),
    "qwen": (1, 0, 0.0, 10000, 1000, 0, 0, 0.012, 0.0),
}
BY_DAY = {
    "2026-11-22": (2, 0, 0.0, 3000, 300, 1800, 500, 0.001625, 0.000775),
    "2026-11-23": (1, 1, 1.0, 0, 0, 0, 0, 0.0, 0.0),
    "2026-11-25": (2, 0, 0.0, 14000, 1400, 3000, 0, 0.012, 0.0),
    "2026-11-27": (1, 1, 1.0, 0, 0, 0, 0, 0.0, 0.0),
    "2026-11-28": (1, 0, 0.0, 3000, 300, 2500, 0, 0.0, 0.002),
}
TOTAL = (7, 2, 0.2857, 20000, 2000, 7300, 500, 0.013625, 0.002775)


def exchanges(shift: float = 0.0) -> list[Exchange]:
    """The week's exchanges, moved by `shift` seconds (whole days keep the day table true)."""
    out = []
    for i, (day, agent, model, req, tier, prov, key, status, inp, outp, cr, cw, cost, saved) in enumerate(SPEC):
        ok = status == 200
        attempts = [Attempt(model or "kimi-free", prov or "openrouter", "ok" if ok else "error", status, 100.0, key=key)]
        out.append(Exchange(
            id=f"w{i}", started=NOW + shift + day * DAY - 3600 + i, ended=NOW + shift + day * DAY - 3599 + i, agent=agent, tier=tier,
            requested_model=req, attempts=attempts, model=model, provider=prov, status=status,
            outcome="ok" if ok else "error", usage=Usage(inp, outp, cr, cw, reported=ok), cost=cost, saved=saved,
            key_fp=key, error=None if ok else f"{status} upstream",
        ))
    return out


def write_ledger(path: Path, shift: float = 0.0) -> Path:
    db = connect(path)
    with db:
        db.executemany(INSERT, [sqlite_row(ex) for ex in exchanges(shift)])
    db.close()
    return path
