"""Per-conversation guard state: `!/model` and `!/tier` overrides, and the last turns served.

Keyed by the Exchange's session key (a hash of the agent's own conversation id); requests
from an agent that sends no id share one key per (agent, route, tier). Bounded LRU: an
abandoned conversation costs a few hundred bytes until newer ones push it out.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.exchange import Exchange
from gateway.guards.commands import GATEWAY

MAX_SESSIONS = 2000
RECENT = 8


@dataclass
class SessionGuard:
    model: str | None = None  # a configured model name (!/model)
    tier: str | None = None  # a tier name (!/tier)
    commands: int = 0  # commands this process knows of (answered, or found in the history); 0: rebuild overrides from it
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT))
    seen: float = 0.0


def key_for(session: str | None, agent: str, route: str) -> str:
    return session or f"anon:{agent}:{route}"


class GuardState:
    def __init__(self, clock: Callable[[], float] = time.time, max_sessions: int = MAX_SESSIONS) -> None:
        self.clock = clock
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, SessionGuard] = OrderedDict()
        self.last: dict[str, Any] | None = None  # the last exchange anywhere (for !/why without a session)

    def get(self, key: str) -> SessionGuard | None:
        s = self._sessions.get(key)
        if s is not None:
            self._sessions.move_to_end(key)
        return s

    def ensure(self, key: str) -> SessionGuard:
        s = self.get(key)
        if s is None:
            s = self._sessions[key] = SessionGuard()
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        s.seen = self.clock()
        return s

    def remember(self, ex: Exchange, key: str | None = None) -> None:
        """Called once per finished Exchange: what `!/status` and `!/why` report."""
        key = key or key_for(ex.session, ex.agent, ex.route)
        row = {"id": ex.id, "model": ex.model, "role": ex.role, "tier": ex.tier, "status": ex.status,
               "outcome": ex.outcome, "cache_class": ex.cache_class, "input": ex.usage.input,
               "cache_read": ex.usage.cache_read, "attempts": [(a.model, a.outcome, a.status, a.error)
                                                               for a in ex.attempts],
               "skipped": [(s.get("model"), s.get("reason")) for s in ex.skipped],
               "guards": list(ex.guards)}
        if ex.model not in (None, GATEWAY) or ex.attempts or ex.skipped:  # not the gateway's own answers
            self.last = row
            self.ensure(key).recent.append(row)

    def recent(self, key: str) -> list[dict[str, Any]]:
        s = self._sessions.get(key)
        return list(s.recent) if s is not None else []
