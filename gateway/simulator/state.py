"""The simulator's mutable state, shared by the HTTP handlers, the control API and the Python API.

One lock guards it because `SimulatorThread` lets a test thread script faults while the
server's loop thread serves; every critical section is a few dict or deque operations.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.simulator.answers import Prompt, Reply, script_item
from gateway.simulator.cache import CacheResult, PrefixCache
from gateway.simulator.faults import Fault, FaultBook, expand, parse_fault

LOG_SIZE = 500
ANY_MODEL = "*"
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization", "x-goog-api-key", "cookie"})


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names; auth values replaced by their length so tests can see a key was sent."""
    out = {}
    for k, v in headers:
        name = k.lower()
        out[name] = f"<redacted:{len(v)}>" if name in _SECRET_HEADERS else v
    return out


class SimState:
    def __init__(self, cache: PrefixCache, *, usage_always: bool = False) -> None:
        self.cache = cache
        self.usage_always = usage_always
        self._lock = threading.Lock()
        self._faults: dict[str, FaultBook] = {}
        self._scripts: dict[str, deque[Reply]] = {}
        self._counts: Counter[str] = Counter()
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._ids = itertools.count(1)
        self.limits: Any = None  # a gateway.simulator.limits.LimitBook: free-plan limits per key (benchmarks)

    def next_id(self) -> str:
        return f"sim{next(self._ids):021d}"

    # -- requests -------------------------------------------------------------------------

    def record(
        self, path: str, model: str | None, stream: bool, headers: dict[str, str], body: Any, *, count: bool = True
    ) -> None:
        """Log a request; `count=False` logs without counting it as a model call (count_tokens)."""
        entry = {"t": time.time(), "path": path, "model": model, "stream": stream, "headers": headers, "body": body}
        with self._lock:
            if model and count:
                self._counts[model] += 1
            self._log.append(entry)

    def calls(self, model: str | None = None) -> int:
        with self._lock:
            return self._counts[model] if model is not None else sum(self._counts.values())

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def requests(self, model: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self._log if model is None or r["model"] == model]

    # -- prefix cache ----------------------------------------------------------------------

    def cache_for(self, prompt: Prompt) -> CacheResult:
        with self._lock:
            if prompt.dialect == "anthropic":
                return self.cache.breakpoints(prompt.model, prompt.segments, prompt.breakpoints)
            return self.cache.automatic(prompt.model, prompt.segments)

    def cache_stats(self) -> dict[str, Any]:
        with self._lock:
            return self.cache.stats()

    # -- faults and scripts ---------------------------------------------------------------

    def _book(self, model: str) -> FaultBook:
        book = self._faults.get(model)
        if book is None:
            book = self._faults[model] = FaultBook()
        return book

    def add_faults(self, model: str, specs: Any) -> int:
        faults = expand(specs)
        with self._lock:
            book = self._book(model)
            book.queue.extend(faults)
            return len(book.queue)

    def set_always(self, model: str, spec: Any) -> None:
        fault = None if spec is None else parse_fault(spec)
        with self._lock:
            self._book(model).always = fault

    def set_fail_rate(self, model: str, rate: float, seed: int | None = None, spec: Any = None) -> None:
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"fail_rate must be between 0 and 1, got {rate!r}")
        fault = parse_fault(spec) if spec is not None else Fault(status=500)
        with self._lock:
            book = self._book(model)
            book.rate, book.rate_fault, book.rng = float(rate), fault, random.Random(seed)

    def take_fault(self, model: str) -> Fault | None:
        with self._lock:
            for key in (model, ANY_MODEL):
                book = self._faults.get(key)
                if book is not None:
                    fault = book.take()
                    if fault is not None:
                        return fault
        return None

    def add_script(self, model: str, responses: Any) -> int:
        if isinstance(responses, str | Mapping):
            responses = [responses]
        if not isinstance(responses, list | tuple):
            raise ValueError("responses must be a list")
        replies = [script_item(r) for r in responses]
        with self._lock:
            queue = self._scripts.setdefault(model, deque())
            queue.extend(replies)
            return len(queue)

    def take_script(self, model: str) -> Reply | None:
        with self._lock:
            queue = self._scripts.get(model)
            return queue.popleft() if queue else None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "faults": {m: b.describe() for m, b in self._faults.items()},
                "scripts": {m: len(q) for m, q in self._scripts.items() if q},
            }

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self._scripts.clear()
            self._counts.clear()
            self._log.clear()
            self.cache.clear()
