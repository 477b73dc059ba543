"""The gateway's one error hierarchy, and the kinds of upstream failure.

Exceptions the gateway raises on purpose all derive from `GatewayError`, so a caller can
tell "we decided this" from a bug. The tree (where a class lives, when not here):

    Exception
     └── GatewayError
          ├── UpstreamError           an attempt failed talking to a provider; `.kind` is an UpstreamKind
          ├── SkipCandidate           a before-send hook refuses this candidate now (no quota, no slot)
          ├── LedgerWriteFailed       a row could not be committed (the response then fails, not completes)
          ├── StreamTooLarge          one SSE line/event or a held prefix went past its limit
          │                           (also a ValueError: the SSE decoder raises it as bad input)
          ├── TranslationError        protocols/errors.py: a request the target dialect cannot express (400)
          └── UpstreamMalformed       protocols/errors.py: an upstream answer that cannot be translated

`ConfigError` (gateway/config/model.py) stays apart on purpose: the launcher imports the
config package without the server, and it is a ValueError a person fixes in a file.

Why an enum for the kinds and not substrings: which failures mean "the request never reached
the provider" (no quota spent) and which status a client gets are decisions read from the
kind; matching words in messages broke each time a message was reworded.
"""

from __future__ import annotations

from enum import StrEnum


class UpstreamKind(StrEnum):
    CONNECT = "connect"  # DNS, refused, unreachable: the provider never saw the request
    FIRST_BYTE_TIMEOUT = "first_byte_timeout"
    IDLE_TIMEOUT = "idle_timeout"
    RESET = "reset"  # the connection broke after it was made
    TOO_LARGE = "too_large"  # an answer past the gateway's buffer limits

    @property
    def reached(self) -> bool:
        """Whether the provider may have counted the request against our quota."""
        return self is not UpstreamKind.CONNECT

    @property
    def timeout(self) -> bool:
        return self in (UpstreamKind.FIRST_BYTE_TIMEOUT, UpstreamKind.IDLE_TIMEOUT)


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class UpstreamError(GatewayError):
    """A failure before or while reading the upstream response; `kind` drives fallback."""

    def __init__(self, kind: UpstreamKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class SkipCandidate(GatewayError):
    """Raised by a before-send hook: skip this candidate (recorded in Exchange.skipped)."""

    def __init__(self, reason: str, until: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


class StreamTooLarge(GatewayError, ValueError):
    """One SSE line or event, or a held stream prefix, is larger than the gateway accepts."""


class LedgerWriteFailed(GatewayError):
    """An Exchange row could not be committed: its response must not complete as if it had been."""
