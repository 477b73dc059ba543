"""The pools view: one line per quota owner (pool, key, or a model with its own limits).

What each line says: used/limit per window (minute, UTC day, tokens per minute), when the
day resets, whether it is cooling, and which models draw on it. The gateway's /xx/models may
carry `pools` and `keys` lists (each a name with `rpm`/`rpd`/`tpm` windows, optional
`models`, `reset_at`, `cooling_until`); without them the lines are derived from the model rows,
whose windows name their scope (`pool 'openrouter-free'` or `model 'kimi-free'`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

from xx.dash import fmt
from xx.dash.render_models import _window_style, used_of

KINDS = ("rpm", "rpd", "tpm")


def _scope_name(scope: Any) -> tuple[str, str] | None:
    """`pool 'openrouter-free'` -> ("pool", "openrouter-free")."""
    if not isinstance(scope, str) or " " not in scope:
        return None
    kind, _, name = scope.partition(" ")
    return kind, name.strip("'\"")


def derive(models: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Quota owners from model rows: each pool once (with all its models), each model with its own limits."""
    owners: dict[tuple[str, str], dict[str, Any]] = {}
    for name, row in sorted(models.items()):
        pool = row.get("pool")
        if pool:
            o = owners.setdefault(("pool", str(pool)), {"kind": "pool", "name": str(pool), "models": []})
            o["models"].append(name)
        for kind in KINDS:
            w = row.get(kind)
            scope = _scope_name(w.get("scope")) if isinstance(w, Mapping) else None
            if scope is None or not w.get("limit"):
                continue
            o = owners.setdefault(scope, {"kind": scope[0], "name": scope[1], "models": []})
            if scope[0] == "model" and name not in o["models"]:
                o["models"].append(name)
            old = o.get(kind)
            if old is None or (w.get("used") or 0) >= (old.get("used") or 0):
                o[kind] = w
    return sorted(owners.values(), key=lambda o: (o["kind"] != "pool", o["kind"], o["name"]))


def owners(models: Mapping[str, Mapping[str, Any]], extra: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The gateway's own pools and keys when it sends them, else what the model rows imply."""
    out: list[dict[str, Any]] = []
    for kind in ("pools", "keys"):
        given = (extra or {}).get(kind)
        items: Iterable[Any] = given.values() if isinstance(given, Mapping) else given or ()
        for item in items:
            if isinstance(item, Mapping):
                name = item.get("name") or item.get("fingerprint") or item.get("id") or "?"
                out.append({"kind": kind[:-1], **item, "name": str(name)})
    return out or derive(models)


def _cell(w: Any) -> Text:
    return Text(used_of(w) if isinstance(w, Mapping) else "-", style=_window_style(w) if isinstance(w, Mapping) else "dim")


def _reset(o: Mapping[str, Any], now: float) -> str:
    cool = o.get("cooling_until") or o.get("pool_cooling_until")
    if cool and float(cool) > now:
        return f"cooling {fmt.duration(float(cool) - now)}"
    reset = o.get("reset_at") or (o.get("rpd") or {}).get("reset_at") if isinstance(o.get("rpd"), Mapping) else o.get("reset_at")
    return f"{time.strftime('%H:%M', time.localtime(float(reset)))}" if reset else "-"


def pools_table(
    models: Mapping[str, Mapping[str, Any]], extra: Mapping[str, Any] | None, now: float | None = None
) -> Table | Text:
    now = time.time() if now is None else now
    rows = owners(models, extra)
    if not rows:
        return Text("no pools, keys or per-model limits in this gateway's config", style="dim")
    t = Table(expand=True, show_edge=False, box=None, pad_edge=False)
    for col, justify in (("owner", "left"), ("kind", "left"), ("per min", "right"), ("per day", "right"),
                         ("tok/min", "right"), ("resets", "right"), ("models drawing on it", "left")):
        t.add_column(col, justify=justify, header_style="bold", overflow="fold")  # type: ignore[arg-type]
    for o in rows:
        t.add_row(
            Text(o["name"], style="bold"),
            o.get("kind", "-"),
            _cell(o.get("rpm")),
            _cell(o.get("rpd")),
            _cell(o.get("tpm")),
            _reset(o, now),
            Text(", ".join(o.get("models") or ()) or "-", style="cyan"),
        )
    return t
