"""An incremental Server-Sent Events decoder and a tiny encoder.

The proxy tees each upstream chunk through `SSEDecoder.feed` as it passes, so the decoder
must accept bytes split anywhere (inside a UTF-8 sequence, between `\\r` and `\\n`) and
never hold more than the current unfinished line plus the current event, both bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import StreamTooLarge

MAX_EVENT = 4 * 1024 * 1024  # bytes of one line or one event's data: past this the stream is refused
FIELDS = frozenset({"data", "event", "id", "retry"})


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str  # "message" when the stream named none
    data: str
    id: str | None = None


class SSEDecoder:
    """`feed(bytes) -> events completed by these bytes`; `flush()` at end of stream.

    Linear in the bytes received: a line end is searched for only in bytes not searched
    before, however the line is split. Bounded: a line, or one event's data, longer than
    `limit` raises StreamTooLarge instead of growing the buffer. Read on the side:
    `boundary` (the stream offset just past the last blank line, where a whole event ends,
    so a relay can forward whole events without searching again) and `junk` (the first
    line that is no SSE field at all: garbage, an HTML error page), `comments` (how many `:` lines
    came, e.g. keep-alives: they are not events and not content) and `last_comment`.
    """

    __slots__ = ("_buf", "_data", "_event", "_id", "_offset", "_pending_cr", "_scan", "_size", "boundary",
                 "comments", "junk", "last_comment", "limit")

    def __init__(self, limit: int = MAX_EVENT) -> None:
        self._buf = bytearray()
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._pending_cr = False
        self._scan = 0  # bytes at the start of _buf already searched for a line end
        self._size = 0  # bytes of data in the current event
        self._offset = 0  # stream offset of _buf[0]
        self.boundary = 0
        self.junk: str | None = None
        self.limit = limit
        self.comments = 0  # `:` lines (OpenRouter's `: OPENROUTER PROCESSING` keep-alives): never events
        self.last_comment: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        if self._pending_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
            if self.boundary == self._offset:  # the LF of a blank line's CRLF belongs to that event
                self.boundary += 1
            self._offset += 1
        self._pending_cr = False
        buf = self._buf
        buf += chunk
        out: list[SSEEvent] = []
        start, scan = 0, self._scan
        while (line := self._line_end(buf, start, scan)) is not None:
            end, nxt = line
            if end == start:
                self.boundary = self._offset + nxt
            ev = self._line(bytes(buf[start:end]))
            if ev is not None:
                out.append(ev)
            start, scan = nxt, 0
        self._scan = len(buf) - start  # searched already: the next feed starts after these bytes
        if start:
            del buf[:start]
            self._offset += start
        if len(buf) > self.limit:
            raise StreamTooLarge(f"an upstream SSE line is longer than {self.limit} bytes")
        return out

    def _line_end(self, buf: bytearray, start: int, scan: int) -> tuple[int, int] | None:
        """(end of the line starting at `start`, start of the next), or None when it is unfinished.

        Searches only from `start + scan`: bytes searched by an earlier feed are not searched again.
        """
        n = len(buf)
        if start >= n:
            return None
        frm = start + scan
        lf = buf.find(b"\n", frm)
        cr = buf.find(b"\r", frm, lf if lf >= 0 else n)
        if cr >= 0:
            nxt = cr + 1
            if nxt < n and buf[nxt] == 0x0A:
                nxt += 1
            elif nxt == n:
                self._pending_cr = True
            return cr, nxt
        if lf >= 0:
            return lf, lf + 1
        return None

    def flush(self) -> list[SSEEvent]:
        """End of stream: a trailing line without newline still counts; an unterminated event is dispatched."""
        out = []
        if self._buf:
            ev = self._line(bytes(self._buf))
            self._offset += len(self._buf)
            self._buf.clear()
            self._scan = 0
            if ev is not None:
                out.append(ev)
        ev = self._line(b"")
        if ev is not None:
            out.append(ev)
        self.boundary = self._offset
        return out

    def _line(self, raw: bytes) -> SSEEvent | None:
        if not raw:
            if not self._data and not self._event:
                return None
            ev = SSEEvent(self._event or "message", "\n".join(self._data), self._id)
            self._data.clear()
            self._event = ""
            self._size = 0
            return ev
        line = raw.decode("utf-8", errors="replace")
        if line.startswith(":"):
            self.comments += 1
            self.last_comment = line[1:].strip()[:120]
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._size += len(raw)
            if self._size > self.limit:
                raise StreamTooLarge(f"an upstream SSE event is larger than {self.limit} bytes")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name not in FIELDS and self.junk is None:
            self.junk = line[:120]
        return None


def encode(data: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    body = "".join(f"data: {line}\n" for line in data.split("\n"))
    return (head + body + "\n").encode()
