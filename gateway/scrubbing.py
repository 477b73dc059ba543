"""Removing secret values from text and bytes bound for logs, ledger, events, errors and clients.

Only whole secret values at least `MIN_SECRET_LEN` characters long are replaced. A shorter value
(`OPENROUTER_API_KEY=x`, a key named `claude`) cannot be told from ordinary text: replacing it would
rewrite every "x" of a URL or of a relayed stream while protecting nothing (such a value is no real
credential). Where the position says a value is a secret (an env variable named *_KEY/*_TOKEN, an
Authorization header) callers mask the whole value by position, whatever its length.

`scrub_text` also masks strings shaped like a provider's key (`sk-…`, `AIza…`, `gsk_…`, a bearer
token) for text bound for logs, ledger, events and error messages: an upstream error may quote a
key the config never named (a user's other key, a provider echoing a wrong one). Relayed model
output goes through `scrub_bytes` only, so a model writing such a string in an answer is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

MIN_SECRET_LEN = 8
MASK = "***"


def maskable(secrets: Iterable[str | None]) -> list[str]:
    """The secrets long enough to be searched for in text, longest first (a key containing another)."""
    return sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every whole occurrence of a long-enough secret replaced by `***`."""
    for s in maskable(secrets):
        if s in text:
            text = text.replace(s, MASK)
    return text


def scrub_bytes(data: bytes, secrets: Iterable[bytes]) -> bytes:
    """`scrub` for bytes (the secrets already encoded and filtered by `maskable`)."""
    for s in secrets:
        if s in data:
            data = data.replace(s, MASK.encode())
    return data


@cache
def _shapes() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Compiled on first use: the launcher imports this module and never needs them."""
    keyish = re.compile(r"\b(sk-[A-Za-z0-9_\-]{12,}|sk_[A-Za-z0-9_\-]{12,}|AIza[0-9A-Za-z_\-]{20,}|gsk_[A-Za-z0-9]{20,}"
                        r"|nvapi-[A-Za-z0-9_\-]{20,}|ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xai-[A-Za-z0-9]{20,})")
    return keyish, re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}")


def scrub_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`scrub`, then anything shaped like a key or a bearer token: for logs, ledger, events and errors."""
    text = scrub(text, secrets)
    keyish, bearer = _shapes()
    return bearer.sub(r"\1***", keyish.sub(MASK, text))
