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
