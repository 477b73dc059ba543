"""Provider catalogs, parsed and filtered for agent use. Pure: bytes in, entries and reasons out.

Three shapes (from the providers' documentation):
- OpenRouter `GET /api/v1/models`: `{"data": [{id, name, created, context_length, architecture:
  {input_modalities, output_modalities}, pricing: {prompt, completion, input_cache_read, ...} ($ per
  token, as strings), top_provider: {context_length, max_completion_tokens}, supported_parameters,
  expiration_date}]}`.
- OpenRouter `GET /api/v1/models/{id}/endpoints`: `{"data": {id, endpoints: [{provider_name, context_length,
  pricing, supported_parameters, status, uptime_last_30m, latency_last_30m: {p50,...}, throughput_last_30m:
  {p50,...}, supports_implicit_caching}]}}`.
- OpenAI-compatible `GET /v1/models`: `{"data": [{id, object, owned_by, ...}]}`; several providers add the
  window under their own name (`context_window` Groq, `max_context_length` Mistral, `context_length`).
Anything else, or JSON that is not there at all, is a `CatalogError` naming what was wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

MIN_CONTEXT = 32_000  # below this an agent's system prompt and tools leave no room to work
EXPIRY_MARGIN_DAYS = 7
_WINDOW_KEYS = ("context_length", "context_window", "max_context_length", "max_model_len", "context_size", "max_input_tokens",
                "input_token_limit", "inputTokenLimit")


class CatalogError(ValueError):
    """A catalog answer that cannot be read; the message is the reason the scan reports."""


@dataclass(frozen=True)
class Entry:
    """One model as a catalog describes it (None: the catalog does not say)."""

    provider: str
    id: str
    name: str = ""
    context: int | None = None
    free: bool = False
    price: Mapping[str, float] = field(default_factory=dict)  # $ per million tokens: input, output, cache_read
    tools: bool | None = None
    text_io: bool | None = None
    expires: str | None = None  # YYYY-MM-DD
    uptime: float | None = None  # percent, last 30 minutes (best endpoint)
    latency_s: float | None = None  # p50 time to first token
    throughput: float | None = None  # p50 tokens per second
    caching: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("provider", "id")}


@dataclass(frozen=True)
class Rejected:
    provider: str
    id: str
    reason: str
    context: int | None = None  # still worth knowing: routing keeps requests inside it

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "id": self.id, "reason": self.reason, "context": self.context}


def _json(raw: bytes | str, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        head = raw[:60] if isinstance(raw, str) else raw[:60].decode(errors="replace")
        raise CatalogError(f"{what} is not JSON ({exc.__class__.__name__}: {head!r}…)") from None


def _data_list(raw: bytes | str, what: str) -> list[Mapping[str, Any]]:
    obj = _json(raw, what)
    data = obj.get("data") if isinstance(obj, Mapping) else obj if isinstance(obj, list) else None
    if not isinstance(data, list):
        raise CatalogError(f"{what} has no `data` list")
    return [m for m in data if isinstance(m, Mapping) and isinstance(m.get("id"), str)]


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _int(v: Any) -> int | None:
    f = _num(v)
    return int(f) if f is not None and f > 0 else None


def _per_million(pricing: Any) -> dict[str, float]:
    if not isinstance(pricing, Mapping):
        return {}
    pairs = (("input", "prompt"), ("output", "completion"), ("cache_read", "input_cache_read"),
             ("cache_write", "input_cache_write"))
    out = {}
    for ours, theirs in pairs:
        v = _num(pricing.get(theirs))
        if v is not None and v >= 0:
            out[ours] = round(v * 1_000_000, 6)
    return out


def openrouter_models(raw: bytes | str, provider: str) -> list[Entry]:
    out = []
    for m in _data_list(raw, "the OpenRouter model list"):
        arch = m.get("architecture") if isinstance(m.get("architecture"), Mapping) else {}
        top = m.get("top_provider") if isinstance(m.get("top_provider"), Mapping) else {}
        ins, outs = arch.get("input_modalities"), arch.get("output_modalities")
        text_io = None if not isinstance(ins, list) or not isinstance(outs, list) else "text" in ins and "text" in outs
        params = m.get("supported_parameters")
        price = _per_million(m.get("pricing"))
        free = m["id"].endswith(":free") or (bool(price) and price.get("input") == 0 and price.get("output") == 0)
        out.append(Entry(
            provider=provider, id=m["id"], name=str(m.get("name") or m["id"]),
            context=_int(m.get("context_length")) or _int(top.get("context_length")),
            free=free, price=price, text_io=text_io,
            tools=("tools" in params) if isinstance(params, list) else None,
            expires=m.get("expiration_date") if isinstance(m.get("expiration_date"), str) else None,
        ))  # fmt: skip
    return out


def openrouter_endpoints(raw: bytes | str, entry: Entry) -> Entry:
    """The entry refined by its endpoints: best uptime, fastest p50s, caching, the largest window served."""
    obj = _json(raw, f"the endpoints of {entry.id}")
    data = obj.get("data") if isinstance(obj, Mapping) else None
    eps = data.get("endpoints") if isinstance(data, Mapping) else None
    if not isinstance(eps, list):
        raise CatalogError(f"the endpoints of {entry.id} have no `data.endpoints` list")
    eps = [e for e in eps if isinstance(e, Mapping)]
    if not eps:
        raise CatalogError(f"{entry.id} has no endpoint serving it now")
    uptimes = [u for e in eps if (u := _num(e.get("uptime_last_30m"))) is not None]
    lat = [p for e in eps if (p := _p50(e.get("latency_last_30m"))) is not None]
    tput = [p for e in eps if (p := _p50(e.get("throughput_last_30m"))) is not None]
    windows = [w for e in eps if (w := _int(e.get("context_length"))) is not None]
    tools = [("tools" in e["supported_parameters"]) for e in eps if isinstance(e.get("supported_parameters"), list)]
    caching = [bool(e["supports_implicit_caching"]) for e in eps if "supports_implicit_caching" in e]
    return replace(
        entry,
        uptime=max(uptimes) if uptimes else entry.uptime,
        latency_s=min(lat) if lat else entry.latency_s,
        throughput=max(tput) if tput else entry.throughput,
        context=max(windows) if windows else entry.context,
        tools=any(tools) if tools else entry.tools,
        caching=any(caching) if caching else entry.caching,
    )


def _p50(v: Any) -> float | None:
    return _num(v.get("p50")) if isinstance(v, Mapping) else _num(v)


def openai_models(raw: bytes | str, provider: str) -> list[Entry]:
    """`GET /v1/models` of an OpenAI-compatible provider: ids, and a window where the provider adds one."""
    out = []
    for m in _data_list(raw, f"the model list of {provider}"):
        window = next((w for k in _WINDOW_KEYS if (w := _int(m.get(k))) is not None), None)
        out.append(Entry(provider=provider, id=m["id"], name=m["id"], context=window, free=m["id"].endswith(":free")))
    return out


def select(entries: Iterable[Entry], now: float, *, configured: Mapping[str, int | None] | None = None,
           discover_free: bool = True, min_context: int = MIN_CONTEXT) -> tuple[list[Entry], list[Rejected]]:
    """Keep what an agent can use: text in and out, tools, a known window big enough, not expiring soon.

    `configured` maps the ids the config names for this provider to their configured window (which
    fills in a window the catalog does not give). Other models are kept only when `discover_free`
    and free: the scan never spends money on a model the user did not choose.
    """
    configured = configured or {}
    keep: list[Entry] = []
    rejected: list[Rejected] = []
    for e in entries:
        if e.id not in configured and not (discover_free and e.free):
            continue
        if configured.get(e.id) and not e.context:
            e = replace(e, context=configured[e.id])
        why = _why_not(e, now, min_context)
        if why:
            rejected.append(Rejected(e.provider, e.id, why, e.context))
        else:
            keep.append(e)
    return keep, rejected


def _why_not(e: Entry, now: float, min_context: int) -> str | None:
    if e.text_io is False:
        return "no text in and out"
    if e.tools is False:
        return "no tool calling (supported_parameters lacks tools)"
    if not e.context:
        return "no context length in the catalog (set context = N in the config to use it)"
    if e.context < min_context:
        return f"context {e.context} is below the {min_context} an agent needs"
    if e.expires:
        try:
            day = datetime.strptime(e.expires[:10], "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None
        if day - now < EXPIRY_MARGIN_DAYS * 86400:
            return f"expires on {e.expires[:10]}"
    return None


def prescore(e: Entry) -> float:
    """Order before probing (which models get the budget first): catalog facts only."""
    up = (e.uptime if e.uptime is not None else 95.0) / 100.0
    ctx = min(1.0, math.log2(max(e.context or 1, 1)) / 20.0)
    speed = 1.0 / (1.0 + (e.latency_s if e.latency_s is not None else 2.0))
    return round(0.5 * up + 0.3 * ctx + 0.2 * speed, 6)
