"""Thinking blocks across models and protocols.

A thinking block's signature is bound to the model that wrote it: sent to another model it
is at best ignored and at worst a 400. When the gateway itself turns a provider's reasoning
(OpenRouter `reasoning_details`, DeepSeek `reasoning_content`) into an Anthropic thinking
block, it mints the signature: `xx1.` + base64url(JSON {m: model, f: field, rd: details}).
That lets a later turn (a) tell which model wrote the block and (b) hand the provider back
exactly the reasoning fields it requires on the next turn.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

PREFIX = "xx1."


def mint_signature(
    model: str, *, field: str | None = None, details: list[dict[str, Any]] | None = None
) -> str:
    payload: dict[str, Any] = {"m": model}
    if field:
        payload["f"] = field
    if details:
        payload["rd"] = details
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_signature(signature: Any) -> dict[str, Any] | None:
    """The payload of a signature this gateway minted; None for anything else (e.g. Anthropic's own)."""
    if not isinstance(signature, str) or not signature.startswith(PREFIX):
        return None
    data = signature[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) and isinstance(payload.get("m"), str) else None


def merge_details(pieces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold streamed `reasoning_details` fragments into whole items (same index and type: text concatenates)."""
    merged: list[dict[str, Any]] = []
    by_key: dict[tuple[Any, Any], dict[str, Any]] = {}
    for piece in pieces:
        if not isinstance(piece, dict):
            continue
        key = (piece.get("index", len(merged)), piece.get("type"))
        item = by_key.get(key)
        if item is None:
            item = dict(piece)
            by_key[key] = item
            merged.append(item)
            continue
        for name, value in piece.items():
            if (
                name in ("text", "summary", "data")
                and isinstance(value, str)
                and isinstance(item.get(name), str)
            ):
                item[name] += value
            elif value is not None:
                item[name] = value
    return merged


def _keep(block: dict[str, Any], model_id: str, same_dialect: bool, target: str) -> bool:
    if block.get("type") == "redacted_thinking":
        return same_dialect
    payload = read_signature(block.get("signature"))
    if payload is not None:
        # ours: only worth keeping for the model that reasoned, and never for a real Anthropic API
        return payload["m"] == model_id and target != "anthropic"
    if block.get("signature"):
        return same_dialect  # a provider's own signature: only its own dialect can judge it
    return True  # unsigned thinking text carries no binding


def _drop_anthropic(body: dict[str, Any], model_id: str, same: bool, target: str) -> bool:
    changed = False
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict) or msg.get("role") != "assistant":
            continue
        content = msg.get("content")
        if not isinstance(content, list):
            continue
        kept = [
            b
            for b in content
            if not (isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking"))
            or _keep(b, model_id, same, target)
        ]
        if len(kept) != len(content):
            msg["content"] = kept or [{"type": "text", "text": "(no content)"}]  # Anthropic refuses empty text
            changed = True
    return changed


def drop_foreign_thinking(
    body: dict[str, Any], dialect: str, model_id: str, *, target: str | None = None
) -> bool:
    """Drop thinking the answering model did not write; True when `body` changed (mutated in place).

    `dialect` is the dialect of `body`, `model_id` the upstream id about to answer, `target`
    the upstream's dialect (defaults to `dialect`). Signatures the gateway minted name their
    model; other signed blocks are kept only when the body goes to the same dialect.
    """
    target = target or dialect
    same = target == dialect
    changed = False
    if dialect == "anthropic":
        changed = _drop_anthropic(body, model_id, same, target)
    elif dialect == "openai" and not same:
        for msg in body.get("messages") or []:
            if isinstance(msg, dict) and msg.get("role") == "assistant":
                for name in ("reasoning_details", "reasoning_content", "reasoning"):
                    if name in msg:
                        del msg[name]
                        changed = True
    elif dialect == "responses" and not same and isinstance(body.get("input"), list):
        kept_items = [i for i in body["input"] if not (isinstance(i, dict) and i.get("type") == "reasoning")]
        if len(kept_items) != len(body["input"]):
            body["input"] = kept_items
            changed = True
    return changed
