"""Request shaping: small, pure edits to the upstream request body that make prompt caches hit.

Each step edits the parsed body in place and returns whether it changed anything. `shape`
runs the enabled steps and returns the names of those that did: an empty list means the
proxy must forward the client's original bytes untouched, because re-serialising JSON
can break a provider's prefix cache and thinking-block signatures.

The body is in the UPSTREAM dialect ("anthropic" Messages, "openai" Chat Completions,
"responses"), i.e. after any translation, right before sending. Options come from the
provider's and the model's `shaping` tables (model wins) over defaults that are on where
they are safe (see `options_for`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from gateway.caching.billing import strip_billing_header
from gateway.config import Model, Provider

MAX_BREAKPOINTS = 4
_TTL_RANK = {"5m": 0, "1h": 1}
SHAPING_KEYS = (
    "strip_billing_header",
    "inject_cache_control",
    "top_up_cache_control",
    "cache_ttl_1h",
    "prompt_cache_key",
    "lift_system",
    "pin",
    "privacy",
)


@dataclass(frozen=True)
class ShapingOptions:
    strip_billing_header: bool = False
    inject_cache_control: bool = False
    top_up_cache_control: bool = False  # add breakpoints next to the client's own, up to 4
    cache_ttl: str = "5m"  # TTL of injected breakpoints: "5m" or "1h"
    prompt_cache_key: bool = False
    lift_system: bool = False
    pin: tuple[str, ...] = ()  # OpenRouter provider.order; empty = no pinning
    privacy: tuple[tuple[str, Any], ...] = ()  # OpenRouter provider preferences, e.g. data_collection


def _host(url: str) -> str:
    return (urlparse(url).hostname or "").lower()


def options_for(provider: Provider, model: Model) -> ShapingOptions:
    """Defaults, overridden by `[providers.X.shaping]`, overridden by `[models.Y.shaping]`.

    Defaults: strip the billing header everywhere except the real Anthropic API (which
    bills by it); inject breakpoints and lift stray system messages for Anthropic-dialect
    upstreams (a lift only fires on a body the API would reject anyway); a prompt_cache_key
    for OpenAI and OpenRouter, which document it, and any Responses upstream; OpenRouter
    pinning and privacy whenever they are configured. Unknown OpenAI-compatible servers get
    no new fields by default: strict ones answer 400 to fields they do not know.
    """
    host = _host(provider.base_url)
    anthropic_api = host == "api.anthropic.com"
    flags: dict[str, bool] = {
        "strip_billing_header": not anthropic_api,
        "inject_cache_control": provider.dialect == "anthropic",
        "top_up_cache_control": False,
        "cache_ttl_1h": False,
        "prompt_cache_key": provider.dialect == "responses"
        or (provider.dialect == "openai" and (host == "api.openai.com" or provider.is_openrouter)),
        "lift_system": provider.dialect == "anthropic",
        "pin": provider.is_openrouter,
        "privacy": provider.is_openrouter,
    }
    flags.update({k: v for k, v in provider.shaping.items() if k in flags})
    flags.update({k: v for k, v in model.shaping.items() if k in flags})
    return ShapingOptions(
        strip_billing_header=flags["strip_billing_header"],
        inject_cache_control=flags["inject_cache_control"] and provider.dialect == "anthropic",
        top_up_cache_control=flags["top_up_cache_control"],
        cache_ttl="1h" if flags["cache_ttl_1h"] else "5m",
        prompt_cache_key=flags["prompt_cache_key"] and provider.dialect in ("openai", "responses"),
        lift_system=flags["lift_system"] and provider.dialect == "anthropic",
        pin=tuple(model.pin) if flags["pin"] and provider.is_openrouter else (),
        privacy=tuple(provider.privacy.items()) if flags["privacy"] and provider.is_openrouter else (),
    )


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def lift_system(body: dict[str, Any]) -> bool:
    """Move `role: "system"` items out of Anthropic `messages` into `system`.

    The Messages API allows only user/assistant there; strict providers answer 400.
    """
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False
    stray = [m for m in messages if isinstance(m, dict) and m.get("role") == "system"]
    if not stray:
        return False
    body["messages"] = [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]
    texts = [t for t in (_text_of(m.get("content")) for m in stray) if t]
    system = body.get("system")
    if isinstance(system, list):
        system.extend({"type": "text", "text": t} for t in texts)
    elif texts:
        body["system"] = "\n\n".join([system, *texts] if isinstance(system, str) and system else texts)
    return True


# -- inject_cache_control ----------------------------------------------------------------


def _ttl(cc: Any) -> str:
    return cc.get("ttl", "5m") if isinstance(cc, dict) else "5m"


def _positions(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every block that can carry cache_control, in the order Anthropic reads the prompt."""
    out: list[dict[str, Any]] = []
    tools = body.get("tools")
    if isinstance(tools, list):
        out.extend(t for t in tools if isinstance(t, dict))
    system = body.get("system")
    if isinstance(system, list):
        out.extend(b for b in system if isinstance(b, dict))
    for msg in body.get("messages") or []:
        if isinstance(msg, dict) and isinstance(msg.get("content"), list):
            out.extend(b for b in msg["content"] if isinstance(b, dict))
    return out


def count_breakpoints(body: dict[str, Any]) -> int:
    return sum(1 for b in _positions(body) if "cache_control" in b)


def _cacheable(block: dict[str, Any]) -> bool:
    if block.get("type") in ("thinking", "redacted_thinking"):
        return False
    return not (block.get("type") == "text" and not block.get("text"))


def _as_blocks(holder: dict[str, Any], key: str) -> list[Any] | None:
    """holder[key] as a list of blocks, converting a non-empty string in place."""
    value = holder.get(key)
    if isinstance(value, str) and value:
        holder[key] = [{"type": "text", "text": value}]
    value = holder.get(key)
    return value if isinstance(value, list) else None


def _candidates(body: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """Breakpoint targets, stable head first: last tool, last system block, then the last
    user turn's last block and the previous user turn's (whose prefix the last turn wrote).

    Returns (holder, key): key names a string field to convert into blocks only if chosen.
    """
    out: list[tuple[dict[str, Any], str | None]] = []
    tools = body.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[-1], dict):
        out.append((tools[-1], None))
    system = body.get("system")
    if isinstance(system, str) and system:
        out.append((body, "system"))
    elif isinstance(system, list):
        blocks = [b for b in system if isinstance(b, dict) and _cacheable(b)]
        if blocks:
            out.append((blocks[-1], None))
    users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    for msg in reversed(users[-2:]):
        content = msg.get("content")
        if isinstance(content, str) and content:
            out.append((msg, "content"))
        elif isinstance(content, list):
            blocks = [b for b in content if isinstance(b, dict) and _cacheable(b)]
            if blocks:
                out.append((blocks[-1], None))
    return out


def _fit_ttl(order: list[dict[str, Any]], target: dict[str, Any], wanted: str) -> str | None:
    """A TTL for `target` that keeps longer TTLs before shorter ones, or None if none fits."""
    idx = next(i for i, b in enumerate(order) if b is target)
    before = [_TTL_RANK.get(_ttl(b["cache_control"]), 0) for b in order[:idx] if "cache_control" in b]
    after = [_TTL_RANK.get(_ttl(b["cache_control"]), 0) for b in order[idx + 1 :] if "cache_control" in b]
    lo = max(after, default=0)
    hi = min(before, default=1)
    if lo > hi:
        return None
    rank = min(max(_TTL_RANK[wanted], lo), hi)
    return "1h" if rank else "5m"


def _blocks_everywhere(body: dict[str, Any]) -> bool:
    """Turn every string message content into one text block.

    A breakpoint needs a block, and the breakpoints move forward each turn: converting only
    the marked messages would serialise an earlier turn differently from the last request,
    and that turn's cached prefix would never match again. Converting all of them the same
    way every turn keeps the prefix byte-stable.
    """
    changed = False
    for msg in body.get("messages") or []:
        if isinstance(msg, dict) and isinstance(msg.get("content"), str) and msg["content"]:
            msg["content"] = [{"type": "text", "text": msg["content"]}]
            changed = True
    return changed


def inject_cache_control(body: dict[str, Any], *, top_up: bool = False, ttl: str = "5m") -> bool:
    """Add Anthropic `cache_control` breakpoints when the client sent none (or, with
    `top_up`, next to the client's own), never more than 4 in total and never a 1h
    breakpoint after a 5m one. A body with a top-level `cache_control` is left alone.
    """
    if "cache_control" in body:
        return False
    existing = count_breakpoints(body)
    if existing >= MAX_BREAKPOINTS or (existing and not top_up):
        return False
    budget = MAX_BREAKPOINTS - existing
    changed = _blocks_everywhere(body)
    for holder, key in _candidates(body):
        if budget == 0:
            break
        if key is not None:
            blocks = _as_blocks(holder, key)
            if not blocks:
                continue
            block = blocks[-1]
            changed = True  # the string became a block list
        else:
            block = holder
        if "cache_control" in block:
            continue
        chosen = _fit_ttl([*_positions(body)], block, ttl) if existing else ttl
        if chosen is None:
            continue
        block["cache_control"] = (
            {"type": "ephemeral"} if chosen == "5m" else {"type": "ephemeral", "ttl": "1h"}
        )
        budget -= 1
        changed = True
    return changed


# -- OpenRouter provider preferences, prompt_cache_key ------------------------------------


def pin_provider(body: dict[str, Any], pin: tuple[str, ...]) -> bool:
    """OpenRouter: route to these providers only, so the cache that warmed stays the one read."""
    if not pin or "provider" in body:
        return False
    body["provider"] = {"order": list(pin), "allow_fallbacks": False}
    return True


def apply_privacy(body: dict[str, Any], privacy: tuple[tuple[str, Any], ...], *, ours: bool) -> bool:
    """OpenRouter data policy (data_collection, zdr …); only into a provider object we made."""
    if not privacy:
        return False
    if "provider" in body and not ours:
        return False
    prefs = body.setdefault("provider", {})
    if not isinstance(prefs, dict):
        return False
    before = dict(prefs)
    prefs.update({k: v for k, v in privacy if k not in prefs})
    return prefs != before


def cache_key_for(session: str) -> str:
    """A stable, opaque key per conversation (the session is hashed again: nothing raw leaks)."""
    return "xx-" + hashlib.sha256(session.encode()).hexdigest()[:32]


def add_prompt_cache_key(body: dict[str, Any], session: str | None) -> bool:
    if not session or "prompt_cache_key" in body:
        return False
    body["prompt_cache_key"] = cache_key_for(session)
    return True


# -- entry points -------------------------------------------------------------------------


def shape(body: dict[str, Any], dialect: str, opts: ShapingOptions, *, session: str | None) -> list[str]:
    """Apply the enabled steps in place; the names of those that changed the body."""
    done: list[str] = []
    if opts.strip_billing_header and strip_billing_header(body, dialect):
        done.append("strip_billing_header")
    if dialect == "anthropic":
        if opts.lift_system and lift_system(body):
            done.append("lift_system")
        if opts.inject_cache_control and inject_cache_control(
            body, top_up=opts.top_up_cache_control, ttl=opts.cache_ttl
        ):
            done.append("inject_cache_control")
    pinned = pin_provider(body, opts.pin)
    if pinned:
        done.append("pin")
    if apply_privacy(body, opts.privacy, ours=pinned):
        done.append("privacy")
    if dialect in ("openai", "responses") and opts.prompt_cache_key and add_prompt_cache_key(body, session):
        done.append("prompt_cache_key")
    return done
