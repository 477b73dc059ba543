"""Header-driven correction: move local quota counters to what the provider says is left.

The local counters are a guess (another tool may share the account, the gateway may have
restarted, a limit may differ from the docs); the provider's `remaining` is the truth. Each
reading is applied to the bucket it speaks for: a per-model reading (OpenAI, Groq, Cerebras
limit per model) to the model's own limit, an account reading (OpenRouter's X-RateLimit-*)
to the pool's.
A reading at 0 with a reset time cools that bucket until then, so the next request is not
sent into a 429 the provider already announced.
"""

from __future__ import annotations

import bisect
from typing import Any

from gateway.routing.ratelimit_headers import DAY, MINUTE, RateLimits, Reading


def _window_of(r: Reading, now: float) -> str:
    if r.window is not None:
        return r.window
    return DAY if r.reset_at is not None and r.reset_at - now > 120 else MINUTE


def _target(buckets: list[tuple[str, Any, Any]], kind: str, scope: str) -> tuple[str, Any, int] | None:
    """(label, window, local limit) of the bucket the reading speaks for: the model's own limit for a
    per-model reading, the pool's (else the model's) for an account reading."""
    order = buckets[:1] if scope == "model" else list(reversed(buckets))
    for label, w, lim in order:
        limit = getattr(lim, kind)
        if limit:
            return label, w, limit
    return None


def apply_readings(buckets: list[tuple[str, Any, Any]], limits: RateLimits, now: float) -> list[str]:
    """Apply every request reading; returns what changed (for logs and tests)."""
    changed: list[str] = []
    for r in limits.readings:
        if r.unit == "tokens" and r.remaining is not None and _window_of(r, now) == MINUTE:
            changed += _tokens(buckets, r, now)
        if r.unit != "requests" or r.remaining is None:
            continue
        window = _window_of(r, now)
        target = _target(buckets, "rpd" if window == DAY else "rpm", r.scope)
        if target is None:
            if r.remaining == 0 and r.reset_at is not None and buckets:
                label, w, _ = buckets[0]
                _cool(w, r.reset_at, f"provider reports 0 requests left this {window}")
                changed.append(f"{label}: cooled to {r.reset_at:.0f}")
            continue
        label, w, local_limit = target
        used = max(0, local_limit - r.remaining)
        if window == DAY:
            if w.day_count != used:
                changed.append(f"{label}: day {w.day_count} -> {used}")
                w.day_count = used
        else:
            before = len(w.minute)
            # Requests we did not see expire when the provider says its window resets.
            at = now if r.reset_at is None else max(now - 59.999, min(now, r.reset_at - 60.0))
            while len(w.minute) < used:
                w.minute.insert(bisect.bisect_right([a for a, _ in w.minute], at), (at, 0))
            while len(w.minute) > used:
                w.minute.popleft()
            if before != len(w.minute):
                changed.append(f"{label}: minute {before} -> {len(w.minute)}")
        if r.remaining == 0 and r.reset_at is not None:
            _cool(w, r.reset_at, f"provider reports 0 requests left this {window}")
    return changed


def _tokens(buckets: list[tuple[str, Any, Any]], r: Reading, now: float) -> list[str]:
    """The minute's tokens only ever rise to the provider's count (its tokenizer counts more than bytes/4)."""
    target = _target(buckets, "tpm", r.scope)
    if target is None:
        return []
    label, w, local_limit = target
    used, have = max(0, local_limit - (r.remaining or 0)), w.tokens()
    if used <= have:
        return []
    w.minute.append((now, used - have))
    return [f"{label}: minute tokens {have} -> {used}"]


def _cool(w: Any, until: float, reason: str) -> None:
    if until > w.cool_until:
        w.cool_until, w.cool_reason = until, reason
