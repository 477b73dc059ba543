"""What the simulator answers: pure decisions from a parsed prompt.

Every dialect module reduces a request to one `Prompt` (the text the answer quotes, any
tool result the last message carries, the serialized parts the prefix cache hashes), and
`decide` turns it into one protocol-neutral `Reply`. Answers are deterministic so a test
can assert on the exact text, and they name the model that produced them so a test (or a
person watching `xx demo`) can see which model of a cascade really answered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.simulator.rawtool import parse_raw_directive

QUOTE_CHARS = 60
_DIRECTIVE = re.compile(r"\[\[tool:([A-Za-z0-9_.:\-]+)\s*(\{.*?\})?\s*\]\]", re.S)
_WORDS = re.compile(r"\s*\S+\s*")


@dataclass(slots=True)
class Prompt:
    """One request, reduced to what the answer and the cache need."""

    dialect: str  # "anthropic" | "chat" (the gateway says "openai") | "responses"
    model: str
    stream: bool
    user_text: str = ""  # the last user text block (what the default answer quotes)
    directive_text: str = ""  # all text of the last user message (searched for [[tool:...]])
    tool_result: str | None = None  # text of a tool result carried by the last message
    segments: list[bytes] = field(default_factory=list)  # serialized prompt parts, in request order
    breakpoints: list[tuple[int, float]] = field(default_factory=list)  # (segment index, ttl s): Anthropic
    thinking: bool = False
    max_tokens: int | None = None
    include_usage: bool = False


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: Mapping[str, Any]
    raw: str | None = None  # argument text sent as is (broken JSON too): see rawtool.py

    @property
    def arguments_json(self) -> str:
        return self.raw if self.raw is not None else json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str | None = None
    tool: ToolCall | None = None
    thinking: str | None = None
    truncated: bool = False  # cut at max_tokens

    @property
    def output_tokens(self) -> int:
        n = count_words(self.text or "") + count_words(self.thinking or "")
        if self.tool is not None:
            n += 1 + count_words(self.tool.arguments_json)
        return max(n, 1)


def count_words(text: str) -> int:
    return len(text.split())


def split_words(text: str) -> list[str]:
    """Deltas for streaming: one per word, whitespace kept, so `"".join` gives `text` back."""
    parts = _WORDS.findall(text)
    return parts if "".join(parts) == text else [text]


def split_json(text: str, pieces: int = 3) -> list[str]:
    """Argument deltas: the JSON cut into a few arbitrary pieces, as real streams do."""
    if len(text) < pieces * 2:
        return [text]
    step = -(-len(text) // pieces)
    return [text[i : i + step] for i in range(0, len(text), step)]


def parse_directive(text: str) -> ToolCall | None:
    """`[[tool:NAME {json-args}]]` in the last user text asks for a tool call to NAME."""
    m = _DIRECTIVE.search(text)
    if not m:
        return None
    args: Any = {}
    if m.group(2):
        try:
            args = json.loads(m.group(2))
        except ValueError:
            return None
    if not isinstance(args, dict):
        return None
    return ToolCall(m.group(1), args)


def script_item(spec: Any) -> Reply:
    """A scripted response: `"text"`, `{"text": ...}`, `{"tool": {"name", "arguments"}}` or both."""
    if isinstance(spec, str):
        return Reply(text=spec)
    if not isinstance(spec, Mapping):
        raise ValueError(f"a scripted response must be a string or an object, got {type(spec).__name__}")
    unknown = set(spec) - {"text", "tool", "thinking"}
    if unknown:
        raise ValueError(f"unknown keys in scripted response: {', '.join(sorted(unknown))}")
    text = spec.get("text")
    if text is not None and not isinstance(text, str):
        raise ValueError("scripted text must be a string")
    tool = None
    if spec.get("tool") is not None:
        t = spec["tool"]
        if not isinstance(t, Mapping) or not isinstance(t.get("name"), str):
            raise ValueError('a scripted tool needs {"name": str, "arguments": {...}}')
        if isinstance(t.get("raw_arguments"), str):
            return Reply(text=text, tool=ToolCall(t["name"], {}, t["raw_arguments"]))
        args = t.get("arguments", {})
        if isinstance(args, str):
            args = json.loads(args)
        if not isinstance(args, Mapping):
            raise ValueError("scripted tool arguments must be an object")
        tool = ToolCall(t["name"], dict(args))
    if text is None and tool is None:
        raise ValueError('a scripted response needs "text" or "tool"')
    thinking = spec.get("thinking")
    return Reply(text=text, tool=tool, thinking=thinking if isinstance(thinking, str) else None)


def decide(prompt: Prompt, scripted: Reply | None = None) -> Reply:
    """Script first, then a tool result, then a `[[tool:...]]` directive, then the default text."""
    if scripted is not None:
        reply = scripted
    elif prompt.tool_result is not None:
        reply = Reply(text=f"SIM-ANSWER({prompt.model}): tool result: {prompt.tool_result[:QUOTE_CHARS]}")
    else:
        call = parse_directive(prompt.directive_text)
        raw = parse_raw_directive(prompt.directive_text) if call is None else None
        if raw is not None:
            call = ToolCall(raw[0], {}, raw[1])
        if call is not None:
            reply = Reply(tool=call)
        else:
            reply = Reply(text=f"SIM-ANSWER({prompt.model}): {prompt.user_text[:QUOTE_CHARS]}")
    if prompt.thinking and reply.thinking is None:
        reply = Reply(reply.text, reply.tool, "SIM-THINKING: reading the request and choosing an answer.")
    return _limit(reply, prompt.max_tokens)


def _limit(reply: Reply, max_tokens: int | None) -> Reply:
    """Cut the text at `max_tokens` words, as a real model stops mid-sentence."""
    if max_tokens is None or reply.text is None or reply.tool is not None:
        return reply
    budget = max_tokens - count_words(reply.thinking or "")
    words = split_words(reply.text)
    if len(words) <= max(budget, 0) or not words:
        return reply
    text = "".join(words[: max(budget, 1)]).rstrip()
    return Reply(text=text, thinking=reply.thinking, truncated=True)


def thinking_signature(model: str, thinking: str) -> str:
    """A signature bound to the model that wrote the thinking, like Anthropic's (checked on replay)."""
    digest = hashlib.sha256(f"{model}\0{thinking}".encode()).hexdigest()[:32]
    return "SIMSIG." + base64.urlsafe_b64encode(model.encode()).decode().rstrip("=") + "." + digest


def pick_text(texts: list[str]) -> str:
    """The text the user typed: the last block that is not an agent's injected reminder."""
    for t in reversed(texts):
        if not t.lstrip().startswith(("<system-reminder>", "<environment_context>")):
            return t
    return texts[-1] if texts else ""


def text_of(content: Any) -> str:
    """The text of a tool result or message content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, Mapping) and isinstance(p.get("text"), str):
                parts.append(p["text"])
            elif isinstance(p, str):
                parts.append(p)
        return "\n".join(parts)
    return ""
