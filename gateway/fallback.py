"""Fallback policy, apart from the transport loop: which answers let the next candidate try.

Pure functions of a status, a message and an error kind, so they can be read and tested
without a server (as httpx keeps transport and policy apart). The proxy loop asks them;
it never looks at statuses itself.
"""

from __future__ import annotations

from gateway.errors import UpstreamKind

RETRYABLE = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
# Provider errors that mean "this model cannot serve now" even under a client-error status.
CANNOT_SERVE = ("model_not_found", "no endpoints found", "is not available", "overloaded", "capacity", "quota",
                "rate limit", "rate-limit", "temporarily", "not supported for this model",
                # the prompt exceeds this model's window: the next may have a larger one (routing.context.overflow)
                "context_length_exceeded", "maximum context length", "context window", "prompt is too long",
                "exceeds the maximum number of tokens")


def falls_back(status: int, message: str) -> bool:
    """May the next candidate try after this upstream status?

    A redirect means this provider's base_url is wrong (often http:// for an https-only
    API), which says nothing about the request: the next provider may serve it.
    """
    if 300 <= status < 400 or status in RETRYABLE:
        return True
    low = message.lower()
    return status in (400, 403, 404, 422) and any(s in low for s in CANNOT_SERVE)


def status_for_kind(kind: UpstreamKind) -> int:
    """The status a client gets when the last candidate failed with `kind`."""
    return 504 if kind.timeout else 502


def client_status(status: int) -> int:
    """An upstream's own 5xx is not the gateway crashing: a client sees "bad gateway"."""
    if 300 <= status < 400:
        return 502
    if status >= 500 and status not in (502, 503, 504):
        return 502
    return status


def redirect_error(status: int, location: str | None) -> str:
    where = f" to {location}" if location else ""
    return f"HTTP {status}: the provider redirected{where}; check its base_url (https?)"
