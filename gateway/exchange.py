"""The Exchange: one record per proxied request.

The shared vocabulary of the ledger, the stats, `/xx/events` and the dashboard. It holds
timings, routing, every upstream attempt, usage and cost — never prompt text or secrets.
`to_dict()` is the JSON shape every consumer reads.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

CACHE_CLASSES = ("HIT", "PARTIAL", "MISS", "COLD", "NOUSAGE", "REPLAY")


def new_id() -> str:
    """Sortable by time, unique without coordination: ms timestamp + random."""
    return f"{int(time.time() * 1000):012x}{os.urandom(5).hex()}"


@dataclass
class Usage:
    input: int = 0  # all prompt tokens, cached ones included
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reported: bool = False  # False when the provider sent no usage at all

    def merge(self, other: Usage) -> None:
        """Streams report usage in pieces (message_start, then message_delta): keep the largest seen."""
        if not other.reported:
            return
        self.reported = True
        self.input = max(self.input, other.input)
        self.output = max(self.output, other.output)
        self.cache_read = max(self.cache_read, other.cache_read)
        self.cache_write = max(self.cache_write, other.cache_write)


@dataclass
class Attempt:
    model: str
    provider: str
    outcome: str = "pending"  # ok | error | aborted | timeout
    status: int | None = None
    ms: float = 0.0
    error: str | None = None
    reached: bool = False  # the request reached the provider (so it spent quota there)
    key: str | None = None  # fingerprint of the API key used (gateway.routing.keys), never the key


@dataclass
class Exchange:
    id: str = field(default_factory=new_id)
    started: float = field(default_factory=time.time)
    first_byte: float | None = None
    ended: float | None = None
    agent: str = "unknown"
    route: str = "p"
    tier: str = ""
    role: str = "big"
    dialect: str = ""  # anthropic | openai | responses
    path: str = ""
    session: str | None = None  # a hash of the conversation id, for affinity
    requested_model: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {"model", "reason"}: not called
    model: str | None = None
    provider: str | None = None
    stream: bool = False
    status: int = 0
    outcome: str = "pending"  # ok | error | aborted
    usage: Usage = field(default_factory=Usage)
    cache_class: str = "NOUSAGE"
    cost: float = 0.0
    saved: float = 0.0
    repairs: int = 0  # tool calls whose arguments the guards repaired (gateway/guards)
    blocks: int = 0  # dangerous tool calls the guards replaced by an explanation
    guards: list[dict[str, Any]] = field(default_factory=list)  # {action, tool, rule, notes}: no values
    error: str | None = None
    key_fp: str | None = None  # fingerprint of the API key that served the answer
    token: str | None = None  # the team token's name that sent it (gateway/routes/team_auth.py)

    @property
    def latency_ms(self) -> float | None:
        return None if self.ended is None else (self.ended - self.started) * 1000

    @property
    def ttfb_ms(self) -> float | None:
        return None if self.first_byte is None else (self.first_byte - self.started) * 1000

    def to_dict(self) -> dict[str, Any]:
        """Written out by hand: `dataclasses.asdict` recursion was the costliest line of the request path."""
        u = self.usage
        return {
            "id": self.id, "started": self.started, "first_byte": self.first_byte, "ended": self.ended,
            "agent": self.agent, "route": self.route, "tier": self.tier, "role": self.role,
            "dialect": self.dialect, "path": self.path, "session": self.session,
            "requested_model": self.requested_model,
            "attempts": [{"model": a.model, "provider": a.provider, "outcome": a.outcome, "status": a.status,
                          "ms": a.ms, "error": a.error, "reached": a.reached, "key": a.key} for a in self.attempts],
            "skipped": list(self.skipped), "model": self.model, "provider": self.provider, "stream": self.stream,
            "status": self.status, "outcome": self.outcome,
            "usage": {"input": u.input, "output": u.output, "cache_read": u.cache_read,
                      "cache_write": u.cache_write, "reported": u.reported},
            "cache_class": self.cache_class, "cost": self.cost, "saved": self.saved, "error": self.error, "key_fp": self.key_fp,
            "token": self.token,
            "repairs": self.repairs, "blocks": self.blocks, "guards": list(self.guards),
            "latency_ms": self.latency_ms, "ttfb_ms": self.ttfb_ms,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Exchange:
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        d["attempts"] = [Attempt(**a) for a in d.get("attempts") or []]
        d["usage"] = Usage(**(d.get("usage") or {}))
        return cls(**d)
