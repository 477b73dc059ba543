"""Wire capture: what a user attaches to a bug report about a translation.

For each exchange, one JSON line with the client's request, every upstream request, the
upstream's response bytes and what the client got back, under `<state dir>/capture/`.
Off by default; on with `[capture] enabled = true` or `xx capture on` (a flag file the gateway
looks at once a second, so no restart is needed).

Safety and bounds: header values that carry credentials are replaced, every configured secret
and anything shaped like an API key is scrubbed from every text, each body is cut at
PART_LIMIT bytes, and the file rotates at `max_mb` keeping one previous file.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from gateway.scrubbing import scrub_text

PART_LIMIT = 1024 * 1024
MAX_ACTIVE = 512
SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie", "set-cookie",
                  "x-xx-token", "proxy-authorization", "openai-organization"}

def directory(state_dir: Path) -> Path:
    return state_dir / "capture"


def flag_file(state_dir: Path) -> Path:
    return directory(state_dir) / "enabled"


def capture_file(state_dir: Path) -> Path:
    return directory(state_dir) / "capture.jsonl"


def scrub_headers(headers: Mapping[str, str], secrets: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    return {k: ("***" if k.lower() in SECRET_HEADERS else scrub_text(str(v), secrets)) for k, v in headers.items()}


class _Part:
    """Bytes kept up to PART_LIMIT; the total length is remembered beyond it."""

    __slots__ = ("buf", "total")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = PART_LIMIT - len(self.buf)
        if room > 0:
            self.buf += data[:room]

    def as_dict(self, secrets: list[str]) -> dict[str, Any]:
        return {"bytes": self.total, "truncated": self.total > len(self.buf),
                "text": scrub_text(self.buf.decode("utf-8", "replace"), secrets)}


class Recording:
    """One exchange on the wire; `finish()` writes it."""

    def __init__(self, owner: Capture, ex_id: str, meta: dict[str, Any]) -> None:
        self.owner = owner
        self.id = ex_id
        self.meta = meta
        self.client_request = _Part()
        self.upstream: list[dict[str, Any]] = []
        self.client_response = _Part()
        self._done = False

    def request(self, headers: Mapping[str, str], body: bytes) -> None:
        self.meta["client_headers"] = scrub_headers(headers, self.owner.secrets())
        self.client_request.add(body)

    def upstream_request(self, model: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
        part = _Part()
        part.add(body)
        self.upstream.append({"model": model, "url": url, "headers": scrub_headers(headers, self.owner.secrets()),
                              "request": part, "status": None, "response": _Part()})

    def upstream_status(self, status: int) -> None:
        if self.upstream:
            self.upstream[-1]["status"] = status

    def upstream_bytes(self, data: bytes) -> None:
        if self.upstream and data:
            self.upstream[-1]["response"].add(data)

    def client_bytes(self, data: bytes) -> None:
        if data:
            self.client_response.add(data)

    def finish(self, status: int | None = None, outcome: str | None = None) -> None:
        if self._done:
            return
        self._done = True
        s = self.owner.secrets()
        line = {
            **self.meta, "id": self.id, "ended": time.time(), "status": status, "outcome": outcome,
            "client_request": self.client_request.as_dict(s),
            "upstream": [{**u, "request": u["request"].as_dict(s), "response": u["response"].as_dict(s)}
                         for u in self.upstream],
            "client_response": self.client_response.as_dict(s),
        }
        self.owner.write(line)


class Capture:
    """Owned by the Runtime. `begin()` is None when capture is off (the common case: one cached check)."""

    def __init__(self, state_dir: Path, *, enabled: bool = False, max_mb: float = 20.0,
                 secrets: Callable[[], list[str]] = list, clock: Callable[[], float] = time.monotonic) -> None:
        self.state_dir = state_dir
        self.config_enabled = enabled
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.secrets = secrets
        self.clock = clock
        self._flag_checked = -1e9
        self._flag = False
        self._lock = threading.Lock()
        self.written = 0
        self.active: dict[str, Recording] = {}  # exchange id -> its recording, until the Exchange is recorded

    @property
    def on(self) -> bool:
        now = self.clock()
        if now - self._flag_checked >= 1.0:
            self._flag_checked = now
            self._flag = flag_file(self.state_dir).exists()
        return self.config_enabled or self._flag

    def begin(self, ex_id: str, **meta: Any) -> Recording | None:
        if not self.on:
            return None
        rec = Recording(self, ex_id, {"started": time.time(), **meta})
        self.active[ex_id] = rec
        while len(self.active) > MAX_ACTIVE:  # bounded even if an Exchange were never recorded
            self.active.pop(next(iter(self.active)))
        return rec

    def get(self, ex_id: str) -> Recording | None:
        return self.active.get(ex_id) if self.active else None

    def finish(self, ex: Any) -> None:
        """The Exchange was recorded: write its recording (called from Runtime._finish)."""
        if not self.active:
            return
        rec = self.active.pop(ex.id, None)
        if rec is not None:
            rec.meta.update(model=ex.model, tier=ex.tier, role=ex.role)
            try:
                rec.finish(ex.status, ex.outcome)
            except OSError:
                pass  # a full disk must not fail the request; the capture is best effort

    def install(self, hooks: Any) -> Capture:
        """Record each upstream request and its status through the attempt hooks (gateway/attempt.py)."""

        async def before_send(att: Any) -> None:
            rec = self.get(att.ex.id)
            if rec is not None:
                rec.upstream_request(att.model.name, att.url, att.headers, att.body)

        def on_response(att: Any, opened: Any) -> None:
            rec = self.get(att.ex.id)
            if rec is not None:
                rec.upstream_status(opened.status)

        hooks.before_send.append(before_send)
        hooks.on_response.append(on_response)
        return self

    def tap(self, tr: Any, ex_id: str) -> Any:
        """`tr` recording the upstream bytes it is fed and the client bytes it returns (when capturing)."""
        rec = self.get(ex_id)
        return tr if rec is None else Tap(tr, rec)

    def write(self, line: dict[str, Any]) -> None:
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
        path = capture_file(self.state_dir)
        with self._lock:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # prompts are the user's business
            try:
                size = path.stat().st_size
            except OSError:
                size = 0
            if size and size + len(data) > self.max_bytes:
                path.replace(path.with_name(path.name + ".1"))  # one previous file kept
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "ab") as f:
                f.write(data)
            self.written += 1


class Tap:
    """A stream translator wrapper that records both sides; same interface the relay drives."""

    def __init__(self, inner: Any, rec: Recording) -> None:
        self.inner = inner
        self.rec = rec

    def feed(self, chunk: bytes) -> bytes:
        self.rec.upstream_bytes(chunk)
        out = self.inner.feed(chunk)
        self.rec.client_bytes(out)
        return out

    def close(self, reason: str | None = None) -> bytes:
        out = self.inner.close(reason) if reason is not None else self.inner.close()
        self.rec.client_bytes(out)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("inner", "rec"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.inner, name, value)


def read_records(state_dir: Path) -> Iterator[dict[str, Any]]:
    """Every record, oldest first (the rotated file, then the current one); bad lines skipped."""
    cur = capture_file(state_dir)
    for path in (cur.with_name(cur.name + ".1"), cur):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                yield json.loads(line)
            except ValueError:
                continue
