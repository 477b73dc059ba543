"""Error kinds shared by the dialects.

The neutral kinds are Anthropic's names (the richest vocabulary); each dialect module maps
them onto its own `type`/`status` strings. A kind can always be derived from an HTTP status,
so callers that only know the status never have to pick one.
"""

from __future__ import annotations

KINDS = (
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "overloaded_error",
    "timeout_error",
)

_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "permission_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_STATUS_BY_KIND = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
    "timeout_error": 504,
}


def kind_for_status(status: int) -> str:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def status_for_kind(kind: str) -> int:
    return _STATUS_BY_KIND.get(kind, 500)


def normalize_kind(kind: str | None, status: int) -> str:
    return kind if kind in KINDS else kind_for_status(status)


class TranslationError(ValueError):
    """A request that cannot be expressed in the target dialect: the gateway answers 400 with this text."""

    status = 400


class UpstreamMalformed(ValueError):
    """An upstream answer that cannot be translated (e.g. tool arguments that are not JSON).

    Raised before any byte reaches the client, so the proxy can treat it like a failed attempt
    and fall back to the next candidate.
    """
