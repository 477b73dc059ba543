"""The dashboard's state and the one pure function that changes it.

Everything the screen shows is derived from a `DashState`; the only way to get a new one is
`reduce(state, event)` (or `apply(state, events)` for a batch). Nothing here touches the
network or Textual, so the feed can be replayed in a unit test and the widgets stay dumb.

`apply` never mutates its input: it copies the request ring once per batch, not once per
event, which is what lets a burst of hundreds of SSE events cost one copy per screen refresh.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

REQUESTS_MAX = 1000  # exchanges kept in memory; the ledger holds the rest

# Event kinds. From /xx/events: hello, exchange, model, stats. From polling: health, models,
# requests, reset. From the connection loops: down.
FEED_KINDS = ("hello", "exchange", "model", "stats")
LIVE_KINDS = frozenset((*FEED_KINDS, "health", "models", "requests", "reset"))


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    data: Any
    at: float = 0.0  # when the dashboard received it (time.time())


def _ring(items: Iterable[Mapping[str, Any]] = ()) -> deque[Mapping[str, Any]]:
    return deque(items, maxlen=REQUESTS_MAX)


@dataclass(frozen=True)
class DashState:
    url: str = ""
    conn: str = "connecting"  # connecting | up | down
    down_reason: str | None = None
    down_since: float | None = None
    retry_at: float | None = None
    health: Mapping[str, Any] | None = None
    stats: Mapping[str, Any] | None = None
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    requests: deque[Mapping[str, Any]] = field(default_factory=_ring)  # newest first
    last_event_at: float | None = None
    pools_extra: Mapping[str, Any] | None = None  # /xx/models `pools` and `keys`, when the gateway sends them
    updated_at: float | None = None  # the last time the gateway answered (poll or event): for "stale"
    events_applied: int = 0


def reduce(state: DashState, event: Event) -> DashState:
    """One event in, a new state out."""
    return apply(state, (event,))


class _Fold:
    """One batch being folded: each collection is copied on its first change only."""

    def __init__(self, state: DashState) -> None:
        self.state = state
        self.changes: dict[str, Any] = {}
        self.models: dict[str, Mapping[str, Any]] | None = None
        self.requests: deque[Mapping[str, Any]] | None = None
        self.ids: set[str] = set()

    def exchange(self, data: Any) -> None:
        if not isinstance(data, Mapping):
            return
        if self.requests is None:
            self.requests = deque(self.state.requests, maxlen=REQUESTS_MAX)
            self.ids = {str(r.get("id")) for r in self.requests}
        rid = str(data.get("id"))
        if rid in self.ids:
            return
        # By finish time, newest first, like the backfill: events arrive roughly in that order,
        # so the walk from the left stops within a row or two.
        t = finished(data)
        index = next((i for i, r in enumerate(self.requests) if finished(r) <= t), len(self.requests))
        if len(self.requests) == self.requests.maxlen:
            if index == len(self.requests):
                return  # older than everything kept
            self.ids.discard(str(self.requests.pop().get("id")))
        self.requests.insert(index, data)
        self.ids.add(rid)

    def model(self, kind: str, data: Any) -> None:
        row = data.get("model", data) if kind == "reset" and isinstance(data, Mapping) else data
        if isinstance(row, Mapping) and row.get("name"):
            if self.models is None:
                self.models = dict(self.state.models)
            self.models[str(row["name"])] = row

    def request_rows(self, data: Any) -> None:
        rows = data.get("requests", []) if isinstance(data, Mapping) else data
        base = self.requests if self.requests is not None else self.state.requests
        self.requests = merge_requests(base, rows or ())
        self.ids = {str(r.get("id")) for r in self.requests}

    def connection(self, kind: str, data: Any, at: float) -> None:
        changes = self.changes
        if kind == "health":
            changes["health"] = data
        if kind in ("health", "hello"):
            changes.update(conn="up", down_reason=None, down_since=None, retry_at=None)
            return
        data = data if isinstance(data, Mapping) else {}
        was_down = changes.get("conn", self.state.conn) == "down"
        changes.update(
            conn="down",
            down_reason=data.get("reason"),
            retry_at=data.get("retry_at"),
            down_since=(changes.get("down_since") or self.state.down_since) if was_down else at,
        )


def apply(state: DashState, events: Iterable[Event]) -> DashState:
    """Fold a batch of events into a new state, copying each collection at most once."""
    fold = _Fold(state)
    changes = fold.changes
    count = 0
    for ev in events:
        count += 1
        kind, data = ev.kind, ev.data
        if kind in FEED_KINDS:
            changes["last_event_at"] = ev.at
        if kind in LIVE_KINDS:
            changes["updated_at"] = ev.at
        if kind == "exchange":
            fold.exchange(data)
        elif kind in ("model", "reset"):
            fold.model(kind, data)
        elif kind == "models":
            fold.models = _models_view(data, changes)
        elif kind == "requests":
            fold.request_rows(data)
        elif kind == "stats":
            changes["stats"] = data
        elif kind in ("health", "hello", "down"):
            fold.connection(kind, data, ev.at)
    if fold.models is not None:
        changes["models"] = fold.models
    if fold.requests is not None:
        changes["requests"] = fold.requests
    changes["events_applied"] = state.events_applied + count
    return replace(state, **changes)


def _models_view(data: Any, changes: dict[str, Any]) -> dict[str, Mapping[str, Any]]:
    """/xx/models rows by name; its `pools` and `keys` lists, when the gateway sends them, go to `changes`."""
    rows = data.get("models", []) if isinstance(data, Mapping) else data
    if isinstance(data, Mapping) and ("pools" in data or "keys" in data):
        changes["pools_extra"] = {"pools": data.get("pools"), "keys": data.get("keys")}
    return {str(r["name"]): r for r in rows or () if isinstance(r, Mapping) and r.get("name")}


def finished(ex: Mapping[str, Any]) -> float:
    """When an exchange ended (when it started, while pending): the request log's order and time column."""
    return float(ex.get("ended") or ex.get("started") or 0)


def merge_requests(
    current: Iterable[Mapping[str, Any]], fetched: Iterable[Mapping[str, Any]]
) -> deque[Mapping[str, Any]]:
    """Backfill after a (re)connect: union by id, newest first, bounded."""
    by_id: dict[str, Mapping[str, Any]] = {}
    for r in (*current, *fetched):
        if isinstance(r, Mapping):
            by_id.setdefault(str(r.get("id")), r)
    ordered = sorted(by_id.values(), key=finished, reverse=True)
    return _ring(ordered[:REQUESTS_MAX])
