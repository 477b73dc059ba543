"""Session affinity: keep a conversation on the model that served its last turn.

Switching models mid-conversation throws away the provider's prompt cache (and, with
OpenRouter, its sticky provider), so the cheapest next turn is almost always on the same
model. Agents name their conversations in headers or body fields; we keep only a short hash
of that id, never the id itself. Side calls (titles, small/fast calls) share the session id
with the main turns but go to other lists, so the memory is kept per (session, role).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

# (where, name) in the order we trust them: the agent's own conversation ids first.
_HEADERS = (
    "x-xx-session",  # set by our launcher when it knows the session
    "x-claude-code-session-id",  # Claude Code
    "session-id",  # Codex
    "x-session-affinity",  # OpenCode
    "x-session-id",  # OpenCode
    "session_id",  # Pi (responses transport)
)


def _hash(source: str, value: str) -> str:
    return hashlib.sha256(f"{source}\0{value}".encode()).hexdigest()[:16]


def _claude_user_id_session(body: Mapping[str, Any]) -> str | None:
    """Claude Code's `metadata.user_id`: a JSON string with session_id, or the older
    `user_<hash>_account_<uuid>_session_<uuid>` form."""
    meta = body.get("metadata")
    uid = meta.get("user_id") if isinstance(meta, Mapping) else None
    if not isinstance(uid, str) or not uid:
        return None
    if uid.startswith("{"):
        try:
            parsed = json.loads(uid)
        except ValueError:
            return None
        sid = parsed.get("session_id") if isinstance(parsed, dict) else None
        return sid if isinstance(sid, str) and sid else None
    _, sep, sid = uid.rpartition("_session_")
    return sid if sep and sid else None


def session_key(headers: Mapping[str, str], body: Mapping[str, Any], dialect: str) -> str | None:
    """A short stable hash naming the conversation, or None when the agent sends no id."""
    h = {k.lower(): v for k, v in headers.items()}
    for name in _HEADERS[:2]:
        if h.get(name):
            return _hash(name, h[name])
    if dialect == "anthropic" and (sid := _claude_user_id_session(body)):
        return _hash("x-claude-code-session-id", sid)
    for name in _HEADERS[2:]:
        if h.get(name):
            return _hash(name, h[name])
    pck = body.get("prompt_cache_key")
    if isinstance(pck, str) and pck:
        return _hash("session-id", pck)  # Codex sends the same id in both places
    return None


class Affinity:
    """(session, role) → model that last served it; LRU-bounded and expiring."""

    def __init__(
        self,
        max_sessions: int = 10000,
        ttl_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self.clock = clock
        self._map: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()

    def lookup(self, session: str | None, role: str) -> str | None:
        if session is None:
            return None
        key = (session, role)
        hit = self._map.get(key)
        if hit is None:
            return None
        model, at = hit
        if self.clock() - at > self.ttl_s:
            del self._map[key]
            return None
        return model

    def remember(self, session: str | None, role: str, model: str) -> None:
        """Call after a turn succeeded on `model`."""
        if session is None:
            return
        key = (session, role)
        self._map[key] = (model, self.clock())
        self._map.move_to_end(key)
        while len(self._map) > self.max_sessions:
            self._map.popitem(last=False)

    def forget_model(self, model: str) -> None:
        """Drop every memory of `model` (removed from the config)."""
        for key in [k for k, (m, _) in self._map.items() if m == model]:
            del self._map[key]

    def __len__(self) -> int:
        return len(self._map)
