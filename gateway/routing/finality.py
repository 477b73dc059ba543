"""Whether a failed request's answer should tell the agent to stop retrying.

Agents retry 429 and 5xx for minutes (Claude Code: ten attempts with back-off, the SDKs: two),
silently. When every candidate of the tier failed for a reason that will not clear soon (the
provider cannot be reached, a key was refused, a breaker stays open, the day's quota is spent)
those retries only hide the cause, so the answer carries `x-should-retry: false`, which the
Anthropic and OpenAI SDKs and Claude Code honour: the agent fails at once with our message.
An answer that may clear soon (a 429 whose wait is short) keeps the client's usual retries.

Pure: the Exchange's attempts and skips and the time in, a bool out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

NO_RETRY = {"x-should-retry": "false"}
SOON_S = 10.0  # a breaker or a cool-down that ends within this is worth the client's retry
RATE_S = 60.0  # a per-minute limit or a provider's cool-down: agents are built to wait that long
_REFUSED = (401, 402, 403)  # key refused, credits spent, forbidden: the same key gets the same answer


def attempt_is_final(status: int | None, error: str | None, reached: bool) -> bool:
    """An upstream attempt that failed in a way a retry within seconds would repeat."""
    text = error or ""
    if not reached and text.startswith("cannot connect to"):
        return True  # DNS, connection refused, unreachable: the network won't heal in seconds
    return status in _REFUSED or text.startswith(tuple(f"HTTP {s}" for s in _REFUSED))


def skip_is_final(reason: str, until: float | None, now: float) -> bool:
    """A candidate skipped before sending that will stay unavailable past a client's retries."""
    if until is None:
        return "half-open" not in reason  # a probe in flight ends in seconds; the rest (no key...) does not
    wait = until - now
    if "per minute" in reason or "cooling down" in reason:
        return wait > RATE_S
    return wait > SOON_S


def is_final(attempts: Iterable[Any], skipped: Iterable[Mapping[str, Any]], now: float) -> bool:
    """True when something was tried or skipped and every one of them is final."""
    atts, skips = list(attempts), list(skipped)
    if not atts and not skips:
        return False
    return (all(attempt_is_final(a.status, a.error, a.reached) for a in atts)
            and all(skip_is_final(str(s.get("reason", "")), s.get("until"), now) for s in skips))


def headers(final: bool) -> dict[str, str]:
    return dict(NO_RETRY) if final else {}
