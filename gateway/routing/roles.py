"""Which role a request plays in its agent's loop: big, middle, small, long, think or web.

The role picks the cascade a tier uses, so it decides cost and latency of every turn.
Signals, strongest first — those the agents really send beat text matching:

1. a model name `xx-<role>` that our launcher set (Claude Code's
   ANTHROPIC_DEFAULT_HAIKU_MODEL=xx-small, …) — except `xx-big`, the main loop's name on
   every turn, which only means "no side call" and lets the signals below refine it;
2. a small model asked for by name (haiku, *-mini, *-nano, flash-lite), or a known side call
   that names no small model: OpenCode's title generator, Qwen's memory extractor, Gemini's
   JSON-schema router — no tools, a recognisable task;
3. server-side web search tools → web;
4. thinking with a budget / high reasoning effort → think;
5. a token estimate over the threshold → long;
6. the last message carries tool results → middle (the agent is mid-loop: a fast model will do);
7. otherwise big (a person is waiting on the answer to what they typed).

long, think and web are returned only when the tier lists that role; otherwise the signal
is ignored and the request falls through to the next one (ending in big or middle).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.config import ROLES, Tier
from gateway.protocols import count_tokens

OPTIONAL_ROLES = ("long", "think", "web")
_SMALL_MODEL = re.compile(r"(?:^|[-_/.:])(?:haiku|mini|nano|flash-lite)(?:$|[-_/.:@\[])", re.I)
_SIDE_PROMPT = re.compile(
    r"you are a title generator|generate a (?:brief |short |concise )?title|thread title"
    r"|background memory extraction agent|memory extraction",
    re.I,
)
# Sub-agents that run with tools but are still housekeeping, not the user's turn.
_SUBAGENT_PROMPT = re.compile(r"managed memory extraction subagent|memory extraction (?:sub)?agent", re.I)
_HIGH_EFFORT = ("high", "xhigh", "max")


def classify(
    body: Mapping[str, Any],
    dialect: str,
    headers: Mapping[str, str],
    tier: Tier,
    *,
    long_threshold: int,
    model: str | None = None,
    tokens: int | None = None,
) -> str:
    """The role of one request.

    `model` overrides body["model"] (Gemini puts it in the URL); `tokens` is the prompt
    estimate if the caller already has it (count_tokens.estimate), computed here otherwise.
    """
    del headers  # reserved: no header has proved a better role signal than the body yet
    requested = model if model is not None else body.get("model")
    requested = requested if isinstance(requested, str) else ""
    listed = {r for r in OPTIONAL_ROLES if tier.roles.get(r)}

    explicit = launcher_role(requested)
    # xx-big is what the launcher gives the main loop on every turn, so it is a default the
    # other signals refine (a tool-result turn is still middle); any other xx-<role> is final.
    if explicit and explicit != "big" and (explicit not in OPTIONAL_ROLES or explicit in listed):
        return explicit
    if _SMALL_MODEL.search(_bare(requested)) or _is_side_call(body, dialect):
        return "small"
    if "web" in listed and _has_web_search(body, dialect):
        return "web"
    if "think" in listed and _wants_thinking(body, dialect):
        return "think"
    if "long" in listed:
        if tokens is None:
            tokens = count_tokens.estimate(dict(body), dialect)
        if tokens > long_threshold:
            return "long"
    if _ends_with_tool_result(body, dialect):
        return "middle"
    return "big"


def launcher_role(model: str) -> str | None:
    """`xx-small`, `xx/xx-big`, `xx-middle[1m]` → the role; anything else → None."""
    m = re.fullmatch(r"xx-([a-z]+)(?:\[[^\]]*\])?", _bare(model))
    return m.group(1) if m and m.group(1) in ROLES else None


def _bare(model: str) -> str:
    """Drop a `provider/` prefix: OpenCode and Pi may send `xx/xx-small`."""
    return model.rsplit("/", 1)[-1] if model.startswith("xx/") else model


def _text(value: Any) -> str:
    """The text of a system prompt in any dialect (string, blocks, parts)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    if isinstance(value, Mapping):
        if isinstance(value.get("text"), str):
            return value["text"]
        if "parts" in value:
            return _text(value["parts"])
        if "content" in value:
            return _text(value["content"])
    return ""


def _system_text(body: Mapping[str, Any], dialect: str) -> str:
    if dialect == "anthropic":
        return _text(body.get("system"))
    if dialect == "gemini":
        return _text(body.get("systemInstruction") or body.get("system_instruction"))
    if dialect == "responses":
        items = body.get("input") if isinstance(body.get("input"), list) else []
        sys_items = [i for i in items if isinstance(i, Mapping) and i.get("role") in ("system", "developer")]
        return _text(body.get("instructions")) + "\n" + _text(sys_items)
    msgs = body.get("messages") if isinstance(body.get("messages"), list) else []
    return _text([m for m in msgs if isinstance(m, Mapping) and m.get("role") in ("system", "developer")])


def _is_side_call(body: Mapping[str, Any], dialect: str) -> bool:
    """A helper call an agent makes beside the main loop (tool-less, or a known housekeeping sub-agent)."""
    if body.get("tools"):
        return bool(_SUBAGENT_PROMPT.search(_system_text(body, dialect)))
    if dialect == "gemini":
        gen = body.get("generationConfig") or {}
        if isinstance(gen, Mapping) and (gen.get("responseJsonSchema") or gen.get("responseSchema")):
            return True
    return bool(_SIDE_PROMPT.search(_system_text(body, dialect)))


def _tool_types(body: Mapping[str, Any]) -> list[str]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return []
    return [str(t.get("type", "")) for t in tools if isinstance(t, Mapping)]


def _has_web_search(body: Mapping[str, Any], dialect: str) -> bool:
    """Server-side search tools, not an agent's own WebSearch function tool."""
    if dialect == "gemini":
        tools = body.get("tools") if isinstance(body.get("tools"), list) else []
        return any(isinstance(t, Mapping) and ("googleSearch" in t or "google_search" in t) for t in tools)
    if dialect == "openai" and body.get("web_search_options") is not None:
        return True
    return any(t.startswith("web_search") for t in _tool_types(body))


def _wants_thinking(body: Mapping[str, Any], dialect: str) -> bool:
    if dialect == "anthropic":
        th = body.get("thinking")
        if not isinstance(th, Mapping) or th.get("type") != "enabled":
            return False
        budget = th.get("budget_tokens")
        return isinstance(budget, int) and budget > 0
    if dialect == "openai":
        effort = body.get("reasoning_effort")
        if effort is None and isinstance(body.get("reasoning"), Mapping):  # OpenRouter's form
            effort = body["reasoning"].get("effort")
        return effort in _HIGH_EFFORT
    if dialect == "responses":
        reasoning = body.get("reasoning")
        return isinstance(reasoning, Mapping) and reasoning.get("effort") in _HIGH_EFFORT
    if dialect == "gemini":
        gen = body.get("generationConfig")
        tc = gen.get("thinkingConfig") if isinstance(gen, Mapping) else None
        if not isinstance(tc, Mapping):
            return False
        budget = tc.get("thinkingBudget")
        return tc.get("thinkingLevel") in ("high", "HIGH") or (isinstance(budget, int) and (budget > 0 or budget == -1))
    return False


def _ends_with_tool_result(body: Mapping[str, Any], dialect: str) -> bool:
    if dialect == "responses":
        items = body.get("input")
        if not isinstance(items, list) or not items or not isinstance(items[-1], Mapping):
            return False
        return str(items[-1].get("type", "")).endswith("_call_output")
    if dialect == "gemini":
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents or not isinstance(contents[-1], Mapping):
            return False
        parts = contents[-1].get("parts") or []
        return any(isinstance(p, Mapping) and "functionResponse" in p for p in parts)
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs or not isinstance(msgs[-1], Mapping):
        return False
    last = msgs[-1]
    if dialect == "anthropic":
        content = last.get("content")
        return (
            last.get("role") == "user"
            and isinstance(content, list)
            and any(isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content)
        )
    return last.get("role") in ("tool", "function")

