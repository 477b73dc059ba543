"""The pools view: one line per quota owner (pool, key, or a model with its own limits).

What each line says: used/limit per window (minute, UTC day, tokens per minute), when the
day resets, whether it is cooling, and which models draw on it. The gateway's /xx/models may
carry `pools` and `keys` lists (each a name with `rpm`/`rpd`/`tpm` windows, optional
`models`, `reset_at`, `cooling_until`); without them the lines are derived from the model rows,
whose windows name their scope (`pool 'openrouter-free'` or `model 'kimi-free'`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from xx.dash import fmt
from xx.dash.render_models import _window_style, used_of

KINDS = ("rpm", "rpd", "tpm")


_SCOPE = re.compile(r"^(?P<kind>\w+) '(?P<name>[^']*)'(?: key (?P<key>\S+))?")


def _scope_name(scope: Any) -> tuple[str, str, str] | None:
    """`pool 'openrouter-free' key ab12` -> ("pool", "openrouter-free", "ab12"); key "" when none."""
    m = _SCOPE.match(scope) if isinstance(scope, str) else None
    return None if m is None else (m["kind"], m["name"], m["key"] or "")


def _owner(owners: dict[tuple[str, str, str], dict[str, Any]], ident: tuple[str, str, str]) -> dict[str, Any]:
    kind, name, key = ident
    label = f"{name} · key {key}" if key else name
    return owners.setdefault(ident, {"kind": kind, "name": label, "models": []})


def _merge(o: dict[str, Any], kind: str, w: Mapping[str, Any]) -> None:
    old = o.get(kind)
    if old is None or (w.get("used") or 0) >= (old.get("used") or 0):
        o[kind] = w


def _key_row(owners: dict[tuple[str, str, str], dict[str, Any]], name: str, k: Any) -> None:
    """One per-key row of a model: its windows and why it is skipped go to the owner it names."""
    ident = _scope_name(k.get("scope")) if isinstance(k, Mapping) else None
    if ident is None:
        return
    o = _owner(owners, ident)
    if name not in o["models"]:
        o["models"].append(name)
    for kind in KINDS:
        if isinstance(k.get(kind), Mapping):
            _merge(o, kind, k[kind])
    for field in ("cooling_until", "skip", "ref"):
        if k.get(field):
            o[field] = k[field]


def derive(models: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Quota owners from model rows: each pool (per key) once with all its models, each model with its own limits.

    Reads the windows' scopes and, when the rows carry them, per-key rows (`keys`: scope, rpm,
    rpd, cooling_until, skip, ref).
    """
    owners: dict[tuple[str, str, str], dict[str, Any]] = {}
    for name, row in sorted(models.items()):
        if row.get("pool"):
            o = _owner(owners, ("pool", str(row["pool"]), str(row.get("key") or "")))
            o["models"].append(name)
        for kind in KINDS:
            w = row.get(kind)
            ident = _scope_name(w.get("scope")) if isinstance(w, Mapping) else None
            if ident is None or not isinstance(w, Mapping) or not w.get("limit"):
                continue
            o = _owner(owners, ident)
            if name not in o["models"]:
                o["models"].append(name)
            _merge(o, kind, w)
        for k in row.get("keys") or ():
            _key_row(owners, name, k)
    limited = [o for o in owners.values() if o["kind"] == "pool" or o.get("skip") or any(
        isinstance(o.get(k), Mapping) and o[k].get("limit") for k in KINDS)]  # no limit, no line
    return sorted(limited, key=lambda o: (o["kind"] != "pool", o["kind"], o["name"]))


def _window(v: Any) -> Any:
    """A window dict as is; a bare limit (the pool's configured number) as `?/limit`."""
    return {"used": None, "limit": v} if isinstance(v, int) and not isinstance(v, bool) else v


def _given(item: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    """One owner per key of a pool the gateway lists (its `keys`), or the item itself."""
    name = str(item.get("name") or item.get("fingerprint") or item.get("key") or item.get("id") or "?")
    base = {**item, "kind": kind, "name": name, **{k: _window(item.get(k)) for k in KINDS}}
    keys = [k for k in item.get("keys") or () if isinstance(k, Mapping)]
    if not keys:
        return [base]
    out = []
    for k in keys:
        label = f"{name} · key {k['key']}" if k.get("key") else name
        row = {**base, **{f: k.get(f) for f in ("ref", "skip", "cooling_until", "in_flight", "retired")}}
        out.append({**row, "name": label, **{w: _window(k.get(w)) or base.get(w) for w in KINDS}})
    return out


def owners(models: Mapping[str, Mapping[str, Any]], extra: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The gateway's own pools and keys when it sends them (plus models with limits of their own),
    else what the model rows imply."""
    out: list[dict[str, Any]] = []
    for kind in ("pools", "keys"):
        given = (extra or {}).get(kind)
        items: Iterable[Any] = given.values() if isinstance(given, Mapping) else given or ()
        for item in items:
            if isinstance(item, Mapping):
                out += _given(item, kind[:-1])
    if not out:
        return derive(models)
    return out + [o for o in derive(models) if o["kind"] == "model"]


def _cell(w: Any) -> Text:
    if not isinstance(w, Mapping):
        return Text("-", style="dim")
    if w.get("used") is None and w.get("limit"):
        return Text(f"?/{w['limit']}", style="dim")
    return Text(used_of(w), style=_window_style(w))


def _reset(o: Mapping[str, Any], now: float) -> str:
    cool = o.get("cooling_until") or o.get("pool_cooling_until")
    if cool and float(cool) > now:
        return f"cooling {fmt.duration(float(cool) - now)}"
    rpd = o.get("rpd")
    reset = o.get("reset_at") or (rpd.get("reset_at") if isinstance(rpd, Mapping) else None)
    return f"{time.strftime('%H:%M', time.localtime(float(reset)))}" if reset else "-"


def owner_lines(o: Mapping[str, Any], now: float) -> Text:
    """One owner as a short block: name, kind and windows; then the models; then why it is skipped."""
    out = Text()
    out.append(o["name"], style="bold")
    if o.get("ref"):
        out.append(f" (${o['ref']})", style="dim")
    out.append(f"  {o.get('kind', '-')}", style="dim")
    for kind, label in (("rpm", "min"), ("rpd", "day"), ("tpm", "tok/min")):
        w = o.get(kind)
        if isinstance(w, Mapping) and w.get("limit"):
            out.append(f"  {label}\u00a0")  # no-break: a label never wraps away from its number
            out.append_text(_cell(w))
    if o.get("in_flight") is not None:
        cap = f"/{o['max_concurrency']}" if o.get("max_concurrency") else ""
        out.append(f"  in\u00a0flight\u00a0{o['in_flight']}{cap}")
    out.append("  resets\u00a0", style="dim")
    out.append(_reset(o, now))
    out.append("\n   models: ", style="dim")
    out.append(", ".join(o.get("models") or ()) or "-", style="cyan")
    if o.get("skip"):
        out.append("\n   skipped: ", style="dim")
        out.append(str(o["skip"]), style="red")
    return out


def pools_table(
    models: Mapping[str, Mapping[str, Any]], extra: Mapping[str, Any] | None, now: float | None = None
) -> RenderableType:
    """Every quota owner as a block of lines, so it reads at 80 columns as well as at 220."""
    now = time.time() if now is None else now
    rows = owners(models, extra)
    if not rows:
        return Text("no pools, keys or per-model limits in this gateway's config", style="dim")
    parts: list[RenderableType] = []
    for o in rows:
        parts += [owner_lines(o, now), Text("")]
    return Group(*parts[:-1])
