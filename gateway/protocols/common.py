"""Shared bits of the protocol modules: JSON helpers, ids, and the neutral stream events.

Every stream translator is a parser (upstream dialect -> neutral events) feeding an emitter
(neutral events -> the client's dialect). The neutral vocabulary is deliberately small so
that each new dialect costs one parser and one emitter, not one translator per pair.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.exchange import Usage

ALL_DIALECTS = ("anthropic", "openai", "responses", "gemini")


def dumps(obj: Any) -> str:
    """Compact JSON the way the providers send it (no spaces, UTF-8 kept)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None


def new_id(prefix: str) -> str:
    return f"{prefix}{os.urandom(12).hex()}"


def counter_ids(seed: str) -> Callable[[str], str]:
    """Deterministic ids (`prefix + seed + counter`), for reproducible streams in tests."""
    counter = itertools.count()
    return lambda prefix: f"{prefix}{seed}{next(counter):04d}"


def as_int(value: Any) -> int:
    """Providers send null, floats or strings where ints belong; usage must never crash the proxy."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float):
        return max(int(value), 0)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def parse_args(arguments: Any) -> dict[str, Any] | None:
    """Tool-call arguments as a dict; None when they are not a JSON object. Empty means `{}`."""
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}
    if not isinstance(arguments, str):
        return None
    value = loads_or_none(arguments)
    return value if isinstance(value, dict) else None


def text_of(content: Any) -> str:
    """The plain text of a string or a list of text-ish blocks/parts (any dialect)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "".join(parts)


def details_text(details: Any) -> str:
    """The readable reasoning in Chat `reasoning_details` (`reasoning.text` text, `reasoning.summary` summary).

    OpenRouter repeats it in `reasoning`; Snowflake Cortex sends only the details, so without this
    its reasoning reached no client of another dialect.
    """
    if not isinstance(details, list):
        return ""
    out = []
    for d in details:
        if isinstance(d, dict):
            value = d.get("text") if d.get("type") == "reasoning.text" else d.get("summary")
            out.append(value if isinstance(value, str) else "")
    return "".join(out)


def content_parts(content: Any) -> tuple[str, str]:
    """(text, thinking) of a Chat `content` that may be a list of parts.

    Mistral's Magistral sends `[{"type": "thinking", "thinking": [{"type": "text", ...}]},
    {"type": "text", "text": ...}]` where everyone else sends a string; the thinking part must
    not leak into the text, and the text must not be lost because it came as a list.
    """
    if isinstance(content, str):
        return content, ""
    if not isinstance(content, list):
        return "", ""
    text: list[str] = []
    thinking: list[str] = []
    for part in content:
        if isinstance(part, str):
            text.append(part)
        elif isinstance(part, dict) and part.get("type") == "thinking":
            inner = part.get("thinking")
            thinking.append(inner if isinstance(inner, str) else text_of(inner))
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            text.append(part["text"])
    return "".join(text), "".join(thinking)


# --- neutral stream events -------------------------------------------------------------


@dataclass
class Start:
    id: str = ""
    model: str = ""
    usage: Usage | None = None


@dataclass
class Text:
    text: str


@dataclass
class Thinking:
    text: str = ""
    signature: str = ""  # opaque; appended to what came before
    redacted: str | None = None  # Anthropic redacted_thinking data
    details: list[dict[str, Any]] = field(default_factory=list)  # OpenRouter reasoning_details pieces
    origin_field: str | None = None  # the Chat field the text came in: reasoning_content | reasoning


@dataclass
class ToolStart:
    key: str  # stable per tool call within the stream (index as string, or block index)
    id: str
    name: str


@dataclass
class ToolArgs:
    key: str
    delta: str


@dataclass
class UsageSeen:
    usage: Usage


@dataclass
class Finish:
    reason: str  # neutral: end | tool | length | stop_sequence | filter
    stop_sequence: str | None = None


@dataclass
class End:
    """The upstream's own end marker ([DONE], message_stop, response.completed)."""


@dataclass
class Failed:
    message: str
    kind: str = "api_error"  # neutral kinds: see errors.KINDS
    code: str | None = None  # the provider's own error code (e.g. insufficient_quota), kept for OpenAI clients


Event = Start | Text | Thinking | ToolStart | ToolArgs | UsageSeen | Finish | End | Failed


class Emitter:
    """What every stream emitter starts with: the requested model, ids, usage and the end flag.

    Subclasses set `ID_PREFIX` and add their own state; `ids` and `now` pin ids and
    timestamps in tests, `upstream_model` names who signs captured reasoning.
    """

    ID_PREFIX = ""

    def __init__(
        self,
        requested_model: str,
        *,
        ids: Callable[[str], str] = new_id,
        now: int | None = None,
        upstream_model: str = "",
    ) -> None:
        self.model = requested_model
        self._ids = ids
        self.usage = Usage()
        self.done = False
        self._started = False
        self._id = ids(self.ID_PREFIX)
        self._created = now if now is not None else int(time.time())
        self._upstream_model = upstream_model  # who signs captured reasoning; else the stream's own model
        self._finish: Finish | None = None

    def handle(self, event: Event) -> bytes:
        """The bytes this dialect sends for one parsed upstream event."""
        raise NotImplementedError


class Tool:
    """A tool call being assembled from argument deltas."""

    __slots__ = ("args", "id", "name")

    def __init__(self, id: str, name: str) -> None:
        self.id, self.name, self.args = id, name, []
