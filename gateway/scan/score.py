"""Scoring: pure functions from catalog facts, probe results and the ledger's history to one number.

A model an agent cannot use scores nothing: a failed probe (timeout, error, no tool call,
tool arguments that are not valid JSON) makes it unusable with that reason. Among the usable
ones the score weighs, in order of what costs an agent most:
    reliability 0.30  the ledger's success rate on real traffic (enough of it), else the probe and uptime
    tool calls  0.20  valid tool calls: the probe, and how often real answers needed a repair
    speed       0.20  time to first token and throughput (ledger, else catalog p50, else the probe)
    context     0.10  a larger window compacts less often (log scale, 32k → 1M)
    price       0.10  free is best; then cheaper
    caching     0.05  prompt caching cuts cost and time on every agent turn
    quota       0.05  the share of its limits left (1 without quota state)
and a model with no quota left right now has its score halved (it cannot serve the next turn).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MIN_HISTORY = 5  # requests before the ledger's success rate outweighs one probe
WEIGHTS = {"reliability": 0.30, "tools": 0.20, "speed": 0.20, "context": 0.10, "price": 0.10, "caching": 0.05,
           "quota": 0.05}


@dataclass
class History:
    """A model's real traffic in the ledger (attempts it took, answers it gave)."""

    attempts: int = 0
    ok: int = 0
    ttfb_ms: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)
    served: int = 0
    repaired: int = 0  # answers whose tool calls needed a repair (guards)

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.attempts if self.attempts else None

    def as_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "success_rate": _r(self.success_rate), "ttfb_p50_ms": _r(_median(self.ttfb_ms)),
                "tokens_per_s": _r(_median(self.tokens_per_s)), "repaired": self.repaired}


@dataclass(frozen=True)
class Verdict:
    usable: bool
    score: float
    reason: str | None = None
    parts: Mapping[str, float] = field(default_factory=dict)


def history(rows: Iterable[Mapping[str, Any]]) -> dict[str, History]:
    """Per model name, from ledger rows (`Exchange.to_dict` shape)."""
    out: dict[str, History] = {}
    for row in rows:
        for a in row.get("attempts") or []:
            if not isinstance(a, Mapping) or not a.get("model") or a.get("reached") is False:
                continue
            h = out.setdefault(a["model"], History())
            h.attempts += 1
            h.ok += a.get("outcome") == "ok"
        model = row.get("model")
        if not model or row.get("outcome") != "ok":
            continue
        h = out.setdefault(model, History())
        h.served += 1
        h.repaired += bool(row.get("repairs"))
        if isinstance(row.get("ttfb_ms"), int | float):
            h.ttfb_ms.append(float(row["ttfb_ms"]))
        first, ended = row.get("first_byte"), row.get("ended")
        output = (row.get("usage") or {}).get("output") or 0
        if isinstance(first, int | float) and isinstance(ended, int | float) and ended - first > 0.05 and output:
            h.tokens_per_s.append(output / (ended - first))
    return out


def score(catalog: Mapping[str, Any], probe: Mapping[str, Any] | None, hist: History | None = None,
          headroom: float | None = None) -> Verdict:
    """One model's verdict. `catalog` is `Entry.as_dict()`, `probe` is `ProbeResult.as_dict()` (None: not probed)."""
    hist = hist or History()
    if probe is not None and not probe.get("ok"):
        return Verdict(False, 0.0, str(probe.get("reason") or "the probe failed"))
    if probe is None and (hist.attempts < MIN_HISTORY):
        return Verdict(False, 0.0, "not probed (budget) and too little history")
    parts = {
        "reliability": _reliability(catalog, probe, hist),
        "tools": _tools(probe, hist),
        "speed": _speed(catalog, probe, hist),
        "context": _context(catalog.get("context")),
        "price": _price(catalog),
        "caching": 1.0 if catalog.get("caching") else 0.0,
        "quota": 1.0 if headroom is None else max(0.0, min(1.0, headroom)),
    }
    total = sum(WEIGHTS[k] * v for k, v in parts.items())
    if headroom is not None and headroom <= 0.0:
        total *= 0.5
    return Verdict(True, round(total, 4), None, {k: round(v, 3) for k, v in parts.items()})


def _reliability(catalog: Mapping[str, Any], probe: Mapping[str, Any] | None, hist: History) -> float:
    uptime = catalog.get("uptime")
    prior = (uptime / 100.0) if isinstance(uptime, int | float) else (1.0 if probe else 0.9)
    rate = hist.success_rate
    w = 0.0 if rate is None else min(1.0, hist.attempts / (4 * MIN_HISTORY))  # history takes over as it accumulates
    blended = w * (rate or 0.0) + (1 - w) * prior
    return blended**2  # squared: an agent turn that fails costs a fallback's delay, or the whole turn


def _tools(probe: Mapping[str, Any] | None, hist: History) -> float:
    base = 1.0 if probe is None or probe.get("ok") else 0.0
    if hist.served < MIN_HISTORY:
        return base
    return base * (1.0 - hist.repaired / hist.served)


def _speed(catalog: Mapping[str, Any], probe: Mapping[str, Any] | None, hist: History) -> float:
    """Our own traffic first, then the provider's 30-minute p50, then the probe (one sample, easily unlucky)."""
    ttft_ms = _median(hist.ttfb_ms) if len(hist.ttfb_ms) >= MIN_HISTORY else None
    if ttft_ms is None and isinstance(catalog.get("latency_s"), int | float):
        ttft_ms = catalog["latency_s"] * 1000
    if ttft_ms is None and probe and probe.get("ttft_ms") is not None:
        ttft_ms = float(probe["ttft_ms"])
    tps = _median(hist.tokens_per_s) if len(hist.tokens_per_s) >= MIN_HISTORY else None
    if tps is None and isinstance(catalog.get("throughput"), int | float):
        tps = float(catalog["throughput"])
    if tps is None and probe and probe.get("tokens_per_s") is not None:
        tps = float(probe["tokens_per_s"])
    first = 1.0 / (1.0 + (ttft_ms if ttft_ms is not None else 3000.0) / 2000.0)  # 0 ms → 1, 2 s → 0.5
    rate = min(1.0, (tps if tps is not None else 30.0) / 100.0)  # 100 tokens/s and more → 1
    return 0.6 * first + 0.4 * rate


def _context(window: Any) -> float:
    if not isinstance(window, int) or window <= 0:
        return 0.0
    return max(0.0, min(1.0, math.log2(window / 32_768) / math.log2(1_048_576 / 32_768)))


def _price(catalog: Mapping[str, Any]) -> float:
    if catalog.get("free"):
        return 1.0
    price = catalog.get("price") or {}
    blended = 0.75 * float(price.get("input") or 0.0) + 0.25 * float(price.get("output") or 0.0)  # agents read more
    return 1.0 / (1.0 + blended / 2.0)  # $2 per million → 0.5


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)
