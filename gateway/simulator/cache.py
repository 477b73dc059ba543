"""A provider-side prefix cache, faithful enough that the gateway's cache shaping can be measured.

The prompt is the request's serialized parts joined in request order (tools, system,
messages), so a changed byte in an early part changes the hash of every later prefix, as
with a real KV cache. Tokens are estimated as bytes / 4. Two policies, as the real APIs:

- automatic (OpenAI Chat and Responses): every 128-token boundary from the minimum up is
  stored; a request reads the longest stored boundary its own prompt shares.
- breakpoints (Anthropic): only prefixes ending at a `cache_control` block are written; a
  request reads the longest written prefix ending at one of its breakpoints or at one of the
  20 blocks before each (Anthropic's documented look-back), and writes from there to its
  last breakpoint.

Entries live `ttl` seconds (refreshed on a hit) on an injectable clock, per model, in a
bounded LRU so hours of traffic keep memory flat. Work per request is O(prompt size).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

LOOKBACK_BLOCKS = 20
_JOIN = b"\n"


@dataclass(frozen=True, slots=True)
class CacheResult:
    read: int = 0
    write: int = 0
    write_1h: int = 0  # the part of `write` stored with a one-hour TTL


@dataclass(slots=True)
class CacheStats:
    requests: int = 0
    hits: int = 0
    read_tokens: int = 0
    write_tokens: int = 0


class ManualClock:
    """A clock tests move by hand: `clock.advance(301)` expires a five-minute entry."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def prompt_tokens(segments: Sequence[bytes]) -> int:
    """The token estimate of the whole prompt: ceil(bytes / 4) of the joined parts."""
    n = sum(map(len, segments)) + max(len(segments) - 1, 0)
    return max((n + 3) // 4, 1)


class PrefixCache:
    def __init__(
        self,
        *,
        min_tokens: int = 1024,
        ttl: float = 300.0,
        step: int = 128,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self.min_tokens = min_tokens
        self.ttl = ttl
        self.step = step
        self.clock = clock
        self.max_entries = max_entries
        self._stores: dict[str, OrderedDict[bytes, tuple[float, float]]] = {}
        self._stats: dict[str, CacheStats] = {}

    def clear(self) -> None:
        self._stores.clear()
        self._stats.clear()

    def stats(self) -> dict[str, object]:
        now = self.clock()
        models = {}
        for model, st in self._stats.items():
            store = self._stores.get(model, OrderedDict())
            live = sum(1 for exp, _ in store.values() if exp > now)
            models[model] = {**asdict(st), "entries": live}
        return {"min_tokens": self.min_tokens, "ttl": self.ttl, "step": self.step, "models": models}

    # -- policies -------------------------------------------------------------------------

    def automatic(self, model: str, segments: Sequence[bytes]) -> CacheResult:
        """OpenAI-style: cached = the longest stored 128-token boundary; then store ours."""
        total = prompt_tokens(segments)
        if total < self.min_tokens:
            self._count(model, 0, 0)
            return CacheResult()
        blob = _JOIN.join(segments)
        bounds = [b for b in range(self.min_tokens, total + 1, self.step) if 4 * b <= len(blob)]
        hashes = _hashes_at(blob, [4 * b for b in bounds])
        store = self._store(model)
        now = self.clock()
        read = 0
        for b, h in zip(reversed(bounds), reversed(hashes), strict=True):
            if self._live(store, h, now):
                read = b
                break
        for h in hashes:
            self._put(store, h, now, self.ttl)
        self._count(model, read, 0)
        return CacheResult(read=read)

    def breakpoints(self, model: str, segments: Sequence[bytes], marks: Sequence[tuple[int, float]]) -> CacheResult:
        """Anthropic-style: reads and writes only at `cache_control` blocks (`marks`: index, ttl)."""
        if not marks:
            self._count(model, 0, 0)
            return CacheResult()
        marks = sorted(marks)
        last = marks[-1][0]
        ends, hashes = _segment_hashes(segments, last)
        if ends[last] // 4 < self.min_tokens:
            self._count(model, 0, 0)
            return CacheResult()
        store = self._store(model)
        now = self.clock()
        read, hit = 0, None
        for i, _ in marks:
            for j in range(i, max(i - LOOKBACK_BLOCKS, 0) - 1, -1):
                tokens = ends[j] // 4
                if tokens <= read:
                    break
                if self._live(store, hashes[j], now):
                    read, hit = tokens, hashes[j]
                    break
        if hit is not None:
            self._put(store, hit, now, store[hit][1])
        for i, ttl in marks:
            if ends[i] // 4 >= self.min_tokens:
                self._put(store, hashes[i], now, ttl)
        write = max(ends[last] // 4 - read, 0)
        write_1h = write if marks[-1][1] > self.ttl else 0
        self._count(model, read, write)
        return CacheResult(read=read, write=write, write_1h=write_1h)

    # -- store ----------------------------------------------------------------------------

    def _store(self, model: str) -> OrderedDict[bytes, tuple[float, float]]:
        store = self._stores.get(model)
        if store is None:
            store = self._stores[model] = OrderedDict()
        return store

    @staticmethod
    def _live(store: OrderedDict[bytes, tuple[float, float]], key: bytes, now: float) -> bool:
        entry = store.get(key)
        if entry is None:
            return False
        if entry[0] <= now:
            del store[key]
            return False
        return True

    def _put(self, store: OrderedDict[bytes, tuple[float, float]], key: bytes, now: float, ttl: float) -> None:
        store[key] = (now + ttl, ttl)
        store.move_to_end(key)
        while len(store) > self.max_entries:
            store.popitem(last=False)

    def _count(self, model: str, read: int, write: int) -> None:
        st = self._stats.get(model)
        if st is None:
            st = self._stats[model] = CacheStats()
        st.requests += 1
        st.hits += read > 0
        st.read_tokens += read
        st.write_tokens += write


def _hashes_at(blob: bytes, offsets: Sequence[int]) -> list[bytes]:
    """Digests of blob[:o] for each ascending offset, in one pass."""
    view = memoryview(blob)
    h = hashlib.blake2b(digest_size=16)
    out = []
    prev = 0
    for o in offsets:
        h.update(view[prev:o])
        out.append(h.copy().digest())
        prev = o
    return out


def _segment_hashes(segments: Sequence[bytes], upto: int) -> tuple[list[int], list[bytes]]:
    """Byte offset of the end of each segment (joined), and the digest of the prompt up to it."""
    h = hashlib.blake2b(digest_size=16)
    ends: list[int] = []
    hashes: list[bytes] = []
    pos = 0
    for i, seg in enumerate(segments[: upto + 1]):
        if i:
            h.update(_JOIN)
            pos += 1
        h.update(seg)
        pos += len(seg)
        ends.append(pos)
        hashes.append(h.copy().digest())
    return ends, hashes
