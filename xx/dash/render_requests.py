"""The requests log and the Exchange details as pure functions of Exchange dicts.

The fallback path is the single most useful thing in a row: `kimi✗429 → nemotron✓` says
which model failed, why, and who answered, in the width of a model name or two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from xx.dash import fmt, render_guards
from xx.dash.layout import Col

COLS = (
    Col("time", "time"),
    Col("agent", "agent", max_width=12),
    Col("tier", "tier", priority=2),
    Col("status", "status"),
    Col("latency", "latency"),
    Col("tokens", "tokens", priority=1),
    Col("cost", "cost", priority=3),
    Col("cache", "cache"),
    Col("route", "requested → served", flex=True, min_width=24),
)  # the widest last: it takes what is left
COLUMNS = tuple(c.key for c in COLS)
FAILED = "✗ nothing served"
GATEWAY = "xx"  # the model a turn the gateway answered itself is recorded under (gateway/guards/commands.py)

CACHE_STYLES = {
    "HIT": "bold green",
    "PARTIAL": "green",
    "MISS": "yellow",
    "COLD": "cyan",
    "NOUSAGE": "dim",
    "REPLAY": "magenta",
}
FILTER_KEYS = ("agent", "model", "status", "tier", "role", "cache", "token", "guard")


class RequestRow(NamedTuple):
    key: str
    cells: tuple[Text, ...]
    ex: Mapping[str, Any] | None = None  # for `route_forms`, only when the route cell does not fit


def _attempt_mark(attempt: Mapping[str, Any]) -> str:
    model = str(attempt.get("model") or "?")
    if attempt.get("outcome") == "ok":
        return f"{model}✓"
    return f"{model}✗{attempt.get('status') or attempt.get('outcome') or 'error'}"


def cascade_path(ex: Mapping[str, Any]) -> str:
    """The models tried, in order, each marked ✓ or ✗ with its status: `kimi✗429 → nemotron✓`."""
    attempts = ex.get("attempts") or []
    if not attempts:
        return str(ex.get("model") or ex.get("requested_model") or "-")
    return " → ".join(_attempt_mark(a) for a in attempts)


def served(ex: Mapping[str, Any]) -> bool:
    """Did a model answer? False for errors and for requests refused before any upstream call."""
    return ex.get("outcome") in ("ok", "aborted", "pending") or bool(ex.get("model"))


def failure_reason(ex: Mapping[str, Any]) -> str:
    """The one line that says why nothing was served, from the record's error or the last attempt's."""
    attempts = ex.get("attempts") or []
    reason = ex.get("error") or (attempts[-1].get("error") if attempts else None)
    if not reason and ex.get("skipped"):
        reason = "; ".join(sorted({str(s.get("reason")) for s in ex["skipped"]}))
    return " ".join(str(reason or ex.get("status") or "error").split())


Piece = tuple[str, str]  # (text, style): a route is assembled once from its pieces


def _path(attempts: list[Mapping[str, Any]], collapse: bool) -> list[Piece]:
    """The attempts, each marked; `collapse` keeps the last whole and the failures before it as `✗429`."""
    out: list[Piece] = []
    last = len(attempts) - 1
    for i, a in enumerate(attempts):
        if i:
            out.append((" " if collapse and i < last else " → ", "dim"))
        if collapse and i < last:
            out.append((f"✗{a.get('status') or a.get('outcome') or 'error'}", "red"))
        else:
            out.append((_attempt_mark(a), "green" if a.get("outcome") == "ok" else "red"))
    return out


def _route(ex: Mapping[str, Any], *, requested: bool = True, collapse: bool = False, tail: bool = True) -> Text:
    """One form of the route cell: `requested=False` drops the requested name (`→ served`),
    `collapse` shortens the failed attempts before the last, `tail=False` drops what follows the
    served model or, when nothing was served, everything after the reason."""
    want = str(ex.get("requested_model") or "")
    attempts = ex.get("attempts") or []
    model = str(ex.get("model") or "")
    ok = served(ex)
    head: list[Piece] = [] if ok else [(FAILED, "bold red"), (f": {failure_reason(ex)}", "red")]
    if not ok and not tail:
        return Text.assemble(*head)
    body: list[Piece] = []
    local = model == GATEWAY and not attempts  # a command or a stopped loop: the gateway answered
    rerouted = bool(want) and (want != model or not attempts)
    if rerouted and requested:
        body.append((want, "dim"))
        if attempts or local:
            body.append((" → ", "dim"))
    elif rerouted and (attempts or local) and ok:
        body.append(("→ ", "dim"))
    if local:
        body.append((f"answered by {GATEWAY}", "bold"))
    elif len(attempts) > 1 or (attempts and attempts[-1].get("outcome") != "ok"):
        body += _path(attempts, collapse)
    elif attempts or not want:
        body.append((model or want or "-", "bold"))
    if head and body:
        head.append((" · ", "dim"))
    if ex.get("skipped") and tail:
        body.append((f" ⊘{len(ex['skipped'])}", "dim"))
    return Text.assemble(*head, *body)


def route_text(ex: Mapping[str, Any]) -> Text:
    """`requested → served`; the whole cascade when more than one model was tried.

    When nothing was served the row says so first, with the reason, so a 429 never reads as
    if the requested model had answered: `✗ nothing served: 429 quota · gpt-5-codex ⊘2`.
    """
    return _route(ex)


def route_forms(ex: Mapping[str, Any]) -> tuple[Text, ...]:
    """The route cell from the fullest to the shortest, for a column too narrow for the first.

    The requested name goes first (`→ nemotron-free`), then the failed attempts shrink to their
    statuses (`✗429 → nemotron-free✓`), then the skip count: the served model, or the reason
    nothing was served, is what stays. Each form is made of whole words of the first.
    """
    forms = [
        _route(ex),
        _route(ex, requested=False),
        _route(ex, requested=False, collapse=True),
        _route(ex, requested=False, collapse=True, tail=False),
    ]
    attempts = ex.get("attempts") or []
    if served(ex) and attempts:  # at last the served model alone
        forms.append(Text(_attempt_mark(attempts[-1]), style="green" if attempts[-1].get("outcome") == "ok" else "red"))
    out: list[Text] = []
    for f in forms:
        if not out or f.cell_len < out[-1].cell_len:
            out.append(f)
    return tuple(out)


def status_text(ex: Mapping[str, Any]) -> Text:
    status, outcome = ex.get("status") or 0, ex.get("outcome")
    if outcome == "aborted":
        return Text("abort", style="yellow")
    if outcome == "pending":
        return Text("…", style="dim")
    label = str(status) if status else str(outcome or "-")
    ok = outcome == "ok" or 200 <= int(status) < 300
    return Text(label, style="green" if ok else "bold red")


def cache_text(cls: str | None) -> Text:
    cls = cls or "NOUSAGE"
    return Text(cls, style=CACHE_STYLES.get(cls, ""))


def request_row(ex: Mapping[str, Any]) -> RequestRow:
    """All the cells a wide screen could show, in `COLS` order; the RequestsLog picks what fits."""
    usage = ex.get("usage") or {}
    tier = "/".join(x for x in (str(ex.get("tier") or ""), str(ex.get("role") or "")) if x)
    cost = ex.get("cost")
    cells = (
        Text(fmt.clock(ex.get("ended") or ex.get("started")), style="dim"),
        Text(str(ex.get("agent") or "-"), style="cyan"),
        Text(tier or "-"),
        status_text(ex) + render_guards.marker(ex) if render_guards.acted(ex) else status_text(ex),
        Text(fmt.ms(ex.get("latency_ms"))),
        Text(f"{fmt.tokens(usage.get('input'))}→{fmt.tokens(usage.get('output'))}"),
        Text(fmt.usd(cost) if cost else "-", style="" if cost else "dim"),
        cache_text(ex.get("cache_class")),
        route_text(ex),
    )
    return RequestRow(str(ex.get("id")), cells, ex)


def _haystack(ex: Mapping[str, Any], key: str) -> list[str]:
    models = [str(ex.get("requested_model") or ""), str(ex.get("model") or "")]
    models += [str(a.get("model") or "") for a in ex.get("attempts") or ()]
    statuses = [str(ex.get("status") or ""), str(ex.get("outcome") or "")]
    statuses += [str(a.get("status") or "") for a in ex.get("attempts") or ()]
    fields = {
        "agent": [str(ex.get("agent") or "")],
        "model": models,
        "status": statuses,
        "tier": [str(ex.get("tier") or "")],
        "role": [str(ex.get("role") or "")],
        "cache": [str(ex.get("cache_class") or "")],
        "token": [str(ex.get("token") or "")],
        "guard": render_guards.actions(ex) if render_guards.acted(ex) else [],
    }
    if key:
        return fields[key]
    return [v for vs in fields.values() for v in vs]


def parse_filter(query: str) -> list[tuple[str, str]]:
    """`agent:claude 429` -> [("agent", "claude"), ("", "429")]; unknown keys search everywhere."""
    terms = []
    for token in query.lower().split():
        key, sep, value = token.partition(":")
        if sep and key in FILTER_KEYS and value:
            terms.append((key, value))
        else:
            terms.append(("", token))
    return terms


def match_filter(ex: Mapping[str, Any], query: str | list[tuple[str, str]]) -> bool:
    """Every term must match: `status:` by prefix (`status:5` = any 5xx), the rest by substring."""
    terms = parse_filter(query) if isinstance(query, str) else query
    for key, value in terms:
        hay = [h.lower() for h in _haystack(ex, key)]
        if key == "status":
            if not any(h.startswith(value) for h in hay):
                return False
        elif not any(value in h for h in hay):
            return False
    return True


def request_rows(
    requests: Iterable[Mapping[str, Any]],
    query: str = "",
    limit: int = 200,
    cache: dict[str, RequestRow] | None = None,
) -> list[RequestRow]:
    """The newest `limit` exchanges that pass the filter, newest first.

    `cache` (exchange id -> row) spares re-rendering rows already shown: a finished exchange
    never changes, and under a flood most rows of one apply were rows of the last.
    """
    terms = parse_filter(query)
    out: list[RequestRow] = []
    for ex in requests:
        if not terms or match_filter(ex, terms):
            rid = str(ex.get("id"))
            row = cache.get(rid) if cache is not None else None
            if row is None:
                row = request_row(ex)
                if cache is not None:
                    cache[rid] = row
            out.append(row)
            if len(out) >= limit:
                break
    if cache is not None and len(cache) > 2 * limit:
        keep = {r.key for r in out}
        for rid in [k for k in cache if k not in keep]:
            del cache[rid]
    return out


def attempts_table(attempts: Iterable[Mapping[str, Any]]) -> Table:
    """One line per upstream attempt: model, provider, outcome, status, time, error."""
    t = Table(title="attempts", title_justify="left", expand=True, show_edge=False)
    for col in ("#", "model", "provider", "outcome", "status", "time", "error"):
        t.add_column(col, overflow="fold")
    for i, a in enumerate(attempts, 1):
        ok = a.get("outcome") == "ok"
        t.add_row(
            str(i),
            str(a.get("model")),
            str(a.get("provider") or "-"),
            Text(("✓ " if ok else "✗ ") + str(a.get("outcome")), style="green" if ok else "red"),
            str(a.get("status") or "-"),
            fmt.ms(a.get("ms")),
            Text(str(a.get("error") or ""), style="red"),
        )
    return t


def _who(ex: Mapping[str, Any]) -> Text:
    """The team token that sent it (the ledger's `token`) and the instance that served it, when known."""
    out = Text(str(ex.get("token") or "-"), style="bold magenta" if ex.get("token") else "dim")
    if ex.get("instance"):
        out.append(f"   instance {ex['instance']}")
    return out


def exchange_detail(ex: Mapping[str, Any]) -> RenderableType:
    """Everything the record holds about one request: attempts with errors, timings, usage, cost."""
    usage = ex.get("usage") or {}
    kv = Table.grid(padding=(0, 2))
    kv.add_column(style="bold")
    kv.add_column()
    rows: list[tuple[str, RenderableType]] = [
        ("id", str(ex.get("id"))),
        (
            "started",
            f"{fmt.clock(ex.get('started'))}   ttfb {fmt.ms(ex.get('ttfb_ms'))}   total {fmt.ms(ex.get('latency_ms'))}",
        ),
        (
            "agent",
            f"{ex.get('agent')}   route {ex.get('route')}   tier {ex.get('tier') or '-'}   role {ex.get('role')}",
        ),
        (
            "dialect",
            f"{ex.get('dialect') or ex.get('endpoint') or '-'} {ex.get('path') or ''}   stream {'yes' if ex.get('stream') else 'no'}",
        ),
        ("session", str(ex.get("session") or "-")),
        ("token", _who(ex)),
        ("requested", str(ex.get("requested_model") or "-")),
        ("served", f"{ex.get('model') or '-'} ({ex.get('provider') or '-'})"),
        ("path", route_text(ex)),
        ("status", Text.assemble(status_text(ex), f"  {ex.get('outcome')}")),
        (
            "usage",
            f"in {usage.get('input', 0):,}  (cache read {usage.get('cache_read', 0):,}, write {usage.get('cache_write', 0):,})"
            f"  out {usage.get('output', 0):,}" + ("" if usage.get("reported", True) else "  (not reported)"),
        ),
        ("cache", cache_text(ex.get("cache_class"))),
        ("cost", f"{fmt.usd(ex.get('cost'))}   saved {fmt.usd(ex.get('saved'))}"),
    ]
    guards = render_guards.guard_lines(ex)
    if guards is not None:
        rows.append(("guards", guards))
    if ex.get("error"):
        rows.append(("error", Text(str(ex["error"]), style="red")))
    for k, v in rows:
        kv.add_row(k, v)
    parts: list[RenderableType] = [kv]
    attempts = ex.get("attempts") or []
    if attempts:
        parts.append(attempts_table(attempts))
    skipped = ex.get("skipped") or []
    if skipped:
        parts.append(
            Text(
                "skipped: " + ", ".join(f"{s.get('model')} ({s.get('reason')})" for s in skipped), style="dim"
            )
        )
    return Group(*parts)
