"""Gemini's thought signatures, carried through clients that have no place for them.

Gemini's OpenAI-compatible endpoint puts an opaque `extra_content.google.thought_signature`
on each tool call of a thinking model, and Gemini 3 answers 400 ("Function call is missing a
thought_signature in functionCall parts") when the next request sends that call back without
it. Anthropic, Responses and Gemini-dialect clients only echo what their dialect knows, so
the signature rides inside the one thing every client echoes verbatim: the tool call's id
(Anthropic `tool_use.id` / `tool_use_id`, Responses `call_id`). That keeps the gateway
stateless: any instance, after any restart, can split the id again.

The folded id is `<original id>__xxsig__<signature as URL-safe base64 of its UTF-8, no
padding>`: only `[A-Za-z0-9_-]`, which Anthropic requires of tool ids, and an exact round
trip for any string. Gemini-dialect clients get the native `thoughtSignature` part field
instead. Ids without the separator pass unchanged, and the signature goes back only to a
Gemini model (see `restore`), so other providers never see it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

SEP = "__xxsig__"


def signature_of(call: Any) -> str | None:
    """The `extra_content.google.thought_signature` of a Chat tool call, if it has one."""
    extra = call.get("extra_content") if isinstance(call, dict) else None
    google = extra.get("google") if isinstance(extra, dict) else None
    sig = google.get("thought_signature") if isinstance(google, dict) else None
    return sig if isinstance(sig, str) and sig else None


def fold(call_id: str, signature: str | None) -> str:
    """`call_id` carrying `signature` (unchanged when there is none)."""
    if not signature:
        return call_id
    token = base64.urlsafe_b64encode(signature.encode()).rstrip(b"=").decode("ascii")
    return f"{call_id}{SEP}{token}"


def split(call_id: Any) -> tuple[Any, str | None]:
    """(original id, signature) of an id `fold` made; any other id comes back as it was, with None."""
    if not isinstance(call_id, str) or SEP not in call_id:
        return call_id, None
    head, _, token = call_id.partition(SEP)
    try:
        sig = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, ValueError):  # not one of ours: leave it alone
        return call_id, None
    return (head, sig) if sig else (call_id, None)


def extra_content(signature: str) -> dict[str, Any]:
    return {"google": {"thought_signature": signature}}


def for_gemini(model: str) -> bool:
    """Whether a Chat upstream model takes signatures back: Gemini's ids say so (gemini-3-pro-preview,
    google/gemini-2.5-flash); any other model gets clean tool calls."""
    return "gemini" in model.lower()


def restore(chat: dict[str, Any], *, keep: bool) -> None:
    """Split folded ids in a Chat request built from another dialect, in place.

    Each assistant tool call gets its original id back and, when `keep` (the upstream is a
    Gemini model), its signature as `extra_content`; tool messages get the original
    `tool_call_id`. Without `keep`, any `extra_content` (a Gemini client's native signature)
    is removed. Runs on every translated request, so the common case (no signature anywhere)
    is one substring test per id.
    """
    for msg in chat.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        role = msg.get("role")
        if role == "tool":
            tool_call_id = msg.get("tool_call_id")
            if isinstance(tool_call_id, str) and SEP in tool_call_id:
                msg["tool_call_id"] = split(tool_call_id)[0]
        elif role == "assistant" and msg.get("tool_calls"):
            for call in msg["tool_calls"]:
                if isinstance(call, dict) and ("extra_content" in call or SEP in str(call.get("id"))):
                    _restore_call(call, keep)


def _restore_call(call: dict[str, Any], keep: bool) -> None:
    original, sig = split(call.get("id"))
    if sig:
        call["id"] = original
    sig = sig or signature_of(call)
    if keep and sig:
        call["extra_content"] = extra_content(sig)
    else:
        call.pop("extra_content", None)
