"""Removing secret values from text and bytes bound for logs, ledger, events, errors and clients.

Only whole secret values at least `MIN_SECRET_LEN` characters long are replaced. A shorter value
(`OPENROUTER_API_KEY=x`, a key named `claude`) cannot be told from ordinary text: replacing it would
rewrite every "x" of a URL or of a relayed stream while protecting nothing (such a value is no real
credential). Where the position says a value is a secret (an env variable named *_KEY/*_TOKEN, an
Authorization header) callers mask the whole value by position, whatever its length.
"""

from __future__ import annotations

from collections.abc import Iterable

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
