"""Usage over a period, grouped: what was asked, what it cost, what the prompt cache saved.

Pure functions over ledger rows (the dicts `Ledger.since` returns), shared by `xx usage`
and `GET /xx/usage`, so the command and the endpoint can never disagree. Prices come from the
config: a model with a price there is costed at that price (so a corrected price table
re-costs history); a model without one there is costed at the price the provider's catalog
gave the last model scan, and failing that keeps the cost and saving the ledger recorded.

Days are UTC days, like the providers' daily quotas.
"""

from __future__ import annotations

import calendar
import re
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gateway.accounting.classify import cost as price_cost
from gateway.config.model import Price
from gateway.exchange import Usage

BY = ("day", "agent", "model", "tier", "provider", "key")
COUNTERS = ("requests", "errors", "input_tokens", "output_tokens", "cache_read", "cache_write", "cost_usd", "saved_usd")
FIELDS = (*COUNTERS[:2], "error_rate", *COUNTERS[2:])
_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class UsageError(ValueError):
    """A bad `since` or `by`: the message says what is accepted."""


def parse_since(text: str, now: float | None = None) -> float:
    """`7d`, `24h`, `30m`, `2w`, `today`, or a UTC date `YYYY-MM-DD` -> epoch seconds.

    `7d` means the last 7×24 hours; a date means from that day's UTC midnight.
    """
    now = time.time() if now is None else now
    raw = (text or "").strip().lower()
    if raw == "today":
        return now - now % 86400
    if m := _SPAN.match(raw):
        n = int(m.group(1))
        if n <= 0:
            raise UsageError(f"--since {text!r}: the span must be positive")
        return now - n * _UNIT_S[m.group(2)]
    try:
        day = time.strptime(raw, "%Y-%m-%d")
    except ValueError:
        raise UsageError(
            f"--since {text!r}: expected a span like 7d, 24h, 30m, 2w, the word today, or a date YYYY-MM-DD"
        ) from None
    start = float(calendar.timegm(day))
    if start > now:
        raise UsageError(f"--since {text!r} is in the future")
    return start


def _key_of(row: Mapping[str, Any]) -> str:
    """The API key fingerprint that served the row, where the ledger knows it."""
    if row.get("key_fp") or row.get("key"):
        return str(row.get("key_fp") or row.get("key"))
    for a in reversed(row.get("attempts") or ()):
        if isinstance(a, Mapping) and (a.get("key") or a.get("key_fp")):
            return str(a.get("key") or a.get("key_fp"))
    return "-"


def group_key(row: Mapping[str, Any], by: str) -> str:
    if by == "day":
        return time.strftime("%Y-%m-%d", time.gmtime(float(row.get("started") or 0)))
    if by == "key":
        return _key_of(row)
    if by == "model":
        return str(row.get("model") or row.get("requested_model") or "-")
    return str(row.get(by) or "-")


def is_error(row: Mapping[str, Any]) -> bool:
    return row.get("outcome") == "error" or int(row.get("status") or 0) >= 400


def costed(row: Mapping[str, Any], prices: Mapping[str, Price] | None) -> tuple[float, float]:
    """(cost, saved) of one row: at the config's price for its model when there is one."""
    price = (prices or {}).get(str(row.get("model") or ""))
    if price is None or price == Price():
        return float(row.get("cost") or 0.0), float(row.get("saved") or 0.0)
    u = row.get("usage") or {}
    usage = Usage(
        input=int(u.get("input") or 0), output=int(u.get("output") or 0),
        cache_read=int(u.get("cache_read") or 0), cache_write=int(u.get("cache_write") or 0), reported=True,
    )
    return price_cost(usage, price, replay=row.get("cache_class") == "REPLAY")


def _empty() -> dict[str, float]:
    return dict.fromkeys(COUNTERS, 0)


def _add(acc: dict[str, float], row: Mapping[str, Any], prices: Mapping[str, Price] | None) -> None:
    u = row.get("usage") or {}
    acc["requests"] += 1
    acc["errors"] += int(is_error(row))
    acc["input_tokens"] += int(u.get("input") or 0)
    acc["output_tokens"] += int(u.get("output") or 0)
    acc["cache_read"] += int(u.get("cache_read") or 0)
    acc["cache_write"] += int(u.get("cache_write") or 0)
    c, s = costed(row, prices)
    acc["cost_usd"] += c
    acc["saved_usd"] += s


def _finish(acc: Mapping[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {k: int(acc[k]) for k in COUNTERS[:6]}
    out["error_rate"] = round(acc["errors"] / acc["requests"], 4) if acc["requests"] else 0.0
    out["cost_usd"] = round(acc["cost_usd"], 6)
    out["saved_usd"] = round(acc["saved_usd"], 6)
    return {k: out[k] for k in FIELDS}


def summarize(
    rows: Iterable[Mapping[str, Any]],
    by: str = "day",
    prices: Mapping[str, Price] | None = None,
    *,
    since: float | None = None,
    until: float | None = None,
) -> dict[str, Any]:
    """`{"by", "since", "until", "groups": [{by: name, requests, …}], "total": {…}}`, groups by name."""
    if by not in BY:
        raise UsageError(f"by {by!r}: expected one of {', '.join(BY)}")
    groups: dict[str, dict[str, float]] = {}
    total = _empty()
    for row in rows:
        _add(groups.setdefault(group_key(row, by), _empty()), row, prices)
        _add(total, row, prices)
    return {
        "by": by,
        "since": since,
        "until": until,
        "groups": [{by: name, **_finish(acc)} for name, acc in sorted(groups.items())],
        "total": _finish(total),
    }


def prices_of(config: Any, catalog: Mapping[str, Any] | None = None) -> dict[str, Price]:
    """Model name -> price: the config's, else the provider catalog's from the last model scan."""
    scanned = {
        str(m["name"]): m.get("price")
        for m in (catalog or {}).get("models") or ()
        if isinstance(m, Mapping) and m.get("name")
    }
    out: dict[str, Price] = {}
    for name, m in getattr(config, "models", {}).items():
        price = getattr(m, "price", None)
        if price is not None and price != Price():
            out[name] = price
        elif isinstance(p := scanned.get(name), Mapping) and p:
            out[name] = Price(*(float(p.get(k) or 0.0) for k in ("input", "output", "cache_read", "cache_write")))
    return out


def load_catalog() -> dict[str, Any] | None:
    """The last model scan's result (its catalog prices), None when there is none or it cannot be read."""
    from gateway.scan import store

    return store.load(store.default_path())


def read_rows(path: Path, since: float, until: float | None = None) -> list[dict[str, Any]]:
    """Ledger rows started in [since, until), read-only: works beside a running gateway, never creates a file."""
    from gateway.accounting.ledger import COLUMNS, from_row

    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        have = {r[1] for r in db.execute("PRAGMA table_info(exchanges)")}
        if not have:
            return []
        cols = [c if c in have else f"NULL AS {c}" for c in COLUMNS]
        sql = f"SELECT {', '.join(cols)} FROM exchanges WHERE started >= ? AND started < ? ORDER BY started"
        rows = db.execute(sql, (since, until if until is not None else float("inf"))).fetchall()
    finally:
        db.close()
    return [from_row(r) for r in rows]
