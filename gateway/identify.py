"""Who sent a request and how to route it, from its URL and headers (pure).

The launcher points each agent at `/x/<agent>/<route>/<tier>`; bare `/v1/...` requests
get the default tier and an agent guessed from headers the real CLIs send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ROUTES = ("p", "b", "d")

# User-Agent / header prefixes seen from the real CLIs (reference/agents.md, section 4).
_UA = (
    ("claude-cli/", "claude"),
    ("codex_", "codex"),
    ("codex-tui", "codex"),
    ("qwencode/", "qwen"),
    ("opencode/", "opencode"),
    ("geminicli", "gemini"),
    ("hermes-cli", "hermes"),
)


@dataclass(frozen=True, slots=True)
class Ident:
    agent: str
    route: str
    tier: str | None  # name or letter as given; None = default tier


def from_prefix(agent: str, route: str, tier: str) -> Ident | str:
    """Validate the `/x/<agent>/<route>/<tier>` parts; a string is the problem."""
    if route not in ROUTES:
        return f"unknown route {route!r} in URL (routes: p proxy, b bypass)"
    if route == "d":
        return "route 'd' (direct) does not go through the gateway"
    return Ident(agent.removesuffix("+unguarded") or "unknown", route, tier or None)  # xx --unguarded: guards/hooks.py


def agent_from_headers(headers: Mapping[str, str]) -> str:
    tagged = headers.get("x-xx-agent")
    if tagged:
        return tagged[:40]
    ua = headers.get("user-agent", "").lower()
    for prefix, name in _UA:
        if ua.startswith(prefix):
            return name
    if headers.get("originator", "").startswith("codex"):
        return "codex"
    if "x-claude-code-session-id" in headers:
        return "claude"
    return "unknown"
