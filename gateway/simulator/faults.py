"""Faults: how tests and the demo make a model misbehave, one spec at a time.

A spec is a JSON object, either a `kind` shorthand with its parameters or the raw fields of
`Fault` (which compose: a slow stream that then resets is `{"delay": 0.1, "reset_after": 5}`):

    {"kind": "status", "status": 429, "retry_after": 2, "reset_headers": true, "retry_after_ms": 1500}
    {"kind": "rate_limit"}          429 with Retry-After: 1     {"kind": "overloaded"}   529
    {"kind": "reset", "after_chunks": 2}       abort the TCP connection (RST) after 2 chunks
    {"kind": "stall", "seconds": 5}            sleep before the first byte
    {"kind": "slow", "delay": 0.2}             sleep between SSE chunks
    {"kind": "stall_mid", "after_chunks": 2, "seconds": 5}
    {"kind": "malformed", "after_chunks": 2, "mode": "json" | "garbage"}
    {"kind": "truncate", "after_chunks": null}  end cleanly without the final events
    {"kind": "error_event", "after_chunks": 2, "status": 529}  an in-stream error event, then end

`"times": n` on a queued spec queues it n times. Parsing is pure and raises ValueError with
a message meant for the person who wrote the spec.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

_FIELDS = {
    "status", "message", "retry_after", "retry_after_ms", "reset_headers", "stall", "delay",
    "reset_after", "stall_after", "stall_seconds", "malformed_after", "malformed", "truncate",
    "truncate_after", "error_after",
}  # fmt: skip
_KINDS: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    # kind: (fixed or default fields, {shorthand parameter: field})
    "status": ({}, {}),
    "rate_limit": ({"status": 429}, {}),
    "overloaded": ({"status": 529}, {}),
    "reset": ({"reset_after": 1}, {"after_chunks": "reset_after"}),
    "stall": ({"stall": 5.0}, {"seconds": "stall"}),
    "slow": ({"delay": 0.2}, {}),
    "stall_mid": ({"stall_after": 1, "stall_seconds": 5.0}, {"after_chunks": "stall_after", "seconds": "stall_seconds"}),
    "malformed": ({"malformed_after": 1}, {"after_chunks": "malformed_after", "mode": "malformed"}),
    "truncate": ({"truncate": True}, {"after_chunks": "truncate_after"}),
    "error_event": ({"error_after": 1, "status": 529}, {"after_chunks": "error_after"}),
}


@dataclass(frozen=True, slots=True)
class Fault:
    status: int | None = None  # answer this HTTP status in the endpoint's error dialect
    message: str | None = None
    retry_after: float | None = None  # Retry-After header (429 gets 1 unless set to null)
    retry_after_ms: int | None = None
    reset_headers: bool = False  # x-ratelimit-reset-* / anthropic-ratelimit-* headers
    stall: float = 0.0  # seconds before the first byte
    delay: float = 0.0  # seconds between SSE chunks
    reset_after: int | None = None  # abort the connection after N chunks
    stall_after: int | None = None
    stall_seconds: float = 0.0
    malformed_after: int | None = None
    malformed: str = "json"  # "json": invalid JSON in a data line; "garbage": a non-SSE line
    truncate: bool = False
    truncate_after: int | None = None  # None: drop exactly the final events
    error_after: int | None = None  # emit an in-stream error event after N chunks, then end

    @property
    def is_status(self) -> bool:
        return self.status is not None and self.error_after is None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


def parse_fault(spec: Any) -> Fault:
    if isinstance(spec, Fault):
        return spec
    if not isinstance(spec, Mapping):
        raise ValueError(f"a fault must be an object, got {type(spec).__name__}")
    values: dict[str, Any] = {}
    rest = dict(spec)
    rest.pop("times", None)
    kind = rest.pop("kind", None)
    if kind is not None:
        if kind not in _KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (kinds: {', '.join(_KINDS)})")
        defaults, params = _KINDS[kind]
        values.update(defaults)
        for short, name in params.items():
            if short in rest:
                values[name] = rest.pop(short)
        if kind == "slow" and "seconds" in rest:
            values["delay"] = rest.pop("seconds")
    unknown = set(rest) - _FIELDS
    if unknown:
        raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
    values.update(rest)
    if kind == "status" and values.get("status") is None:
        raise ValueError('a "status" fault needs "status": <HTTP code>')
    if values.get("status") == 429 and "retry_after" not in values:
        values["retry_after"] = 1
    try:
        fault = Fault(**values)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    _check(fault)
    return fault


def _check(f: Fault) -> None:
    if f.status is not None and not (isinstance(f.status, int) and 400 <= f.status <= 599):
        raise ValueError(f"status must be an HTTP error code 400-599, got {f.status!r}")
    for name in ("reset_after", "stall_after", "malformed_after", "truncate_after", "error_after"):
        v = getattr(f, name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise ValueError(f"{name} must be a chunk count >= 0, got {v!r}")
    for name in ("stall", "delay", "stall_seconds"):
        v = getattr(f, name)
        if not isinstance(v, int | float) or v < 0:
            raise ValueError(f"{name} must be seconds >= 0, got {v!r}")
    if f.malformed not in ("json", "garbage"):
        raise ValueError(f'malformed must be "json" or "garbage", got {f.malformed!r}')


def expand(specs: Any) -> list[Fault]:
    """A list of specs (or one) to the faults to queue, honoring `times`."""
    if isinstance(specs, Mapping | Fault):
        specs = [specs]
    if not isinstance(specs, list | tuple):
        raise ValueError("faults must be a list of fault objects")
    out = []
    for spec in specs:
        times = spec.get("times", 1) if isinstance(spec, Mapping) else 1
        if not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a positive integer, got {times!r}")
        out.extend([parse_fault(spec)] * times)
    return out


@dataclass(slots=True)
class FaultBook:
    """One model's faults: a one-shot queue, a persistent fault, and a seeded random failure rate."""

    queue: deque[Fault] = field(default_factory=deque)
    always: Fault | None = None
    rate: float = 0.0
    rate_fault: Fault = field(default_factory=lambda: Fault(status=500))
    rng: random.Random = field(default_factory=random.Random)

    def take(self) -> Fault | None:
        if self.queue:
            return self.queue.popleft()
        if self.always is not None:
            return self.always
        if self.rate and self.rng.random() < self.rate:
            return self.rate_fault
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "queued": [f.to_dict() for f in self.queue],
            "always": self.always.to_dict() if self.always else None,
            "fail_rate": self.rate,
        }
