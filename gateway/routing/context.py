"""Context that fits: never send a request to a model whose context window it exceeds.

Pure. The window of a model is its config's `context`, else what the last scan read from the
provider's catalog, else unknown (no check: a guess would refuse requests that fit). When no
candidate fits, the answer is the error an agent turns into compaction: Claude Code matches
`/prompt is too long[^0-9]*(\\d+)\\s*tokens?\\s*>\\s*(\\d+)/i` on a 400 `invalid_request_error`
(found in the 2.1.197 binary), the message Anthropic's API itself sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gateway.config import Model

CONTEXT_REASON = "context window"  # the prefix of a Skip reason this module wrote
CODE = "context_length_exceeded"  # OpenAI's error code for it (Codex maps it to its context-window error)


def window_of(model: Model, scanned: Mapping[str, int]) -> int | None:
    """The configured window wins over the scanned one: the user knows their deployment."""
    return model.context or scanned.get(model.name)


def exceeds(tokens: int, window: int | None) -> bool:
    return window is not None and tokens > window


def skip_reason(tokens: int, window: int) -> str:
    return f"{CONTEXT_REASON} {window} < ~{tokens} prompt tokens"


def is_context_skip(reason: str) -> bool:
    return reason.startswith(CONTEXT_REASON)


def too_long_message(tokens: int, windows: Iterable[int], what: str) -> str:
    """Anthropic's wording first (agents parse the two numbers), then what xx knows."""
    largest = max(windows, default=0)
    return (f"prompt is too long: {tokens} tokens > {largest} maximum "
            f"(the largest context window among the models of {what}; compact the conversation or pick a tier "
            f"with a larger window)")


# A provider's own "the prompt does not fit" answer, as each documents it: (pattern, which group is the
# prompt's tokens, which the window). Anthropic names tokens first; the others name the window first.
_OVERFLOW = (
    (r"prompt is too long[^0-9]*(\d+)\s*tokens?\s*>\s*(\d+)", 1, 2),  # Anthropic
    (r"maximum context length is (\d+) tokens.*?(?:requested|resulted in) (?:about )?(\d+) tokens", 2, 1),  # OpenAI
    (r"input token count \(?(\d+)\)? exceeds the maximum number of tokens allowed \(?(\d+)\)?", 1, 2),  # Gemini
    (r"prompt contains (\d+) tokens.*?too large for model with (\d+) maximum context length", 1, 2),  # Mistral
)
_OVERFLOW_WORDS = ("context_length_exceeded", "maximum context length", "context window", "prompt is too long",
                   "reduce the length of the messages", "exceeds the maximum number of tokens")


def overflow(message: str) -> tuple[int | None, int | None] | None:
    """(prompt tokens, window) when `message` is a provider saying the prompt exceeds the model's context (either
    may be unknown); None when it says something else. Why parse: the next model may have a larger window, the
    window is worth remembering, and an agent compacts only on Anthropic's own wording."""
    import re

    low = message.lower()
    for pattern, tokens_at, window_at in _OVERFLOW:
        if m := re.search(pattern, low, re.S):
            return int(m.group(tokens_at)), int(m.group(window_at))
    return (None, None) if any(w in low for w in _OVERFLOW_WORDS) else None


IMAGE_TOKENS = 1600  # an image as a model counts it: Anthropic's (width × height) / 750 for a ~1.15 MP picture
_BASE64_RUN = None  # compiled on first use: a long run of base64 characters (an image or a file, not prose)


def estimate_tokens(raw: bytes, dialect: str = "") -> int:
    """The prompt's tokens to an order of magnitude: bytes / 4, with each base64 image counted as a model counts it.

    Why not only bytes / 4: a 1 MB screenshot is ~1,600 tokens to the model but 350k by bytes, which would
    skip every model and ask the agent to compact a conversation that fits. The scan for base64 runs only
    happens when the body names an image, and that test is one search of the body for the word its dialect
    uses (~30 µs for a 58 KB Claude Code request; each further word would cost as much again).
    """
    global _BASE64_RUN
    estimate = len(raw) // 4
    if len(raw) < 4096 or (b"nline" if dialect == "gemini" else b"base64") not in raw:  # inlineData / inline_data
        return estimate
    if _BASE64_RUN is None:
        import re

        _BASE64_RUN = re.compile(rb"[A-Za-z0-9+/=\\]{4096,}")  # \\ : JSON may escape "/" as "\/"
    for m in _BASE64_RUN.finditer(raw):
        estimate -= (m.end() - m.start()) // 4 - IMAGE_TOKENS
    return max(estimate, 1)
