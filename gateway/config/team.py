"""The `[state]` and `[ledger]` config sections: where several gateway instances share state.

```toml
[state]                      # shared state for several instances; absent = in-process
url = "$XX_REDIS_URL"        # redis://…, rediss://… or unix:///path/redis.sock

[ledger]                     # absent = SQLite in the state directory
url = "$XX_DATABASE_URL"     # postgresql://…
retention_days = 90          # rows older than this are deleted in small batches (absent: kept)
synchronous_commit = true    # false: no fsync wait per commit; a PostgreSQL crash or power cut may lose
                             # the last ~0.6 s of rows (a gateway crash still loses none)
commit = "spool"             # "spool": a response completes once its row is in this instance's local journal
                             # (state dir, no fsync: a kill -9 loses nothing), sent to PostgreSQL in batches;
                             # "sync": once the row is committed in PostgreSQL (+3-10 ms per response)
```
A `$VAR` that is unset leaves the section off (the embedded default), so one config file
serves a laptop and a team. Stdlib only (the launcher reads the config too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway.config.record import record

Resolve = Callable[[str], tuple[str | None, str | None]]


@record
class StateSettings:
    url: str | None = None
    url_ref: str | None = None
    minute_s: float = 60.0  # the quota window; only tests shorten it


@record
class LedgerSettings:
    url: str | None = None
    url_ref: str | None = None
    retention_days: float | None = None
    synchronous_commit: bool = True
    commit: str = "spool"  # "spool" | "sync" (gateway.accounting.spool)


def _url(t: Mapping[str, Any], where: str, schemes: tuple[str, ...], resolve: Resolve,
         bad: Callable[[str, str], None]) -> tuple[str | None, str | None]:
    raw = t.get("url")
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        bad(f"{where}.url", "must be a string (a URL or a $VAR reference)")
        return None, None
    url, ref = resolve(raw)
    from urllib.parse import urlsplit  # here, not at import: the launcher's start-up reads this module

    if url and urlsplit(url).scheme not in schemes:
        bad(f"{where}.url", f"must start with {' or '.join(s + '://' for s in schemes)}")
        return None, None
    return url, ref


def build_state(t: Mapping[str, Any], resolve: Resolve, bad: Callable[[str, str], None]) -> StateSettings:
    for key in set(t) - {"url", "minute_s"}:
        bad(f"state.{key}", "unknown key (allowed: url)")
    url, ref = _url(t, "state", ("redis", "rediss", "unix"), resolve, bad)
    minute = t.get("minute_s", 60.0)
    if not isinstance(minute, int | float) or minute <= 0:
        bad("state.minute_s", "must be a positive number of seconds")
        minute = 60.0
    return StateSettings(url=url, url_ref=ref, minute_s=float(minute))


def build_ledger(t: Mapping[str, Any], resolve: Resolve, bad: Callable[[str, str], None]) -> LedgerSettings:
    for key in set(t) - {"url", "retention_days", "synchronous_commit", "commit"}:
        bad(f"ledger.{key}", "unknown key (allowed: url, retention_days, synchronous_commit, commit)")
    url, ref = _url(t, "ledger", ("postgresql", "postgres"), resolve, bad)
    days = t.get("retention_days")
    if days is not None and (not isinstance(days, int | float) or days <= 0):
        bad("ledger.retention_days", "must be a positive number of days")
        days = None
    sync = t.get("synchronous_commit", True)
    if not isinstance(sync, bool):
        bad("ledger.synchronous_commit", "must be true or false")
        sync = True
    commit = t.get("commit", "spool")
    if commit not in ("spool", "sync"):
        bad("ledger.commit", 'must be "spool" or "sync"')
        commit = "spool"
    return LedgerSettings(url=url, url_ref=ref, retention_days=None if days is None else float(days),
                          synchronous_commit=sync, commit=commit)


def url_secrets(*urls: str | None) -> list[str]:
    """Passwords inside the URLs, so logs and errors scrub them like API keys."""
    from urllib.parse import urlsplit

    out = []
    for url in urls:
        if url:
            try:
                password = urlsplit(url).password
            except ValueError:
                password = None
            if password:
                out.append(password)
    return out
