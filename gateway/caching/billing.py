"""Claude Code's per-request billing header, and how to take it out of a prompt.

Claude Code puts `x-anthropic-billing-header: …cch=…;` first in the system prompt; it changes
every turn, so every prefix cache of a non-Anthropic upstream misses from token one. Shaping
strips it (caching/shaping.py) and the replay key ignores it (caching/replay.py).
"""

from __future__ import annotations

import re
from typing import Any

BILLING_PREFIX = "x-anthropic-billing-header:"
_BILLING_LINE = re.compile(r"^x-anthropic-billing-header:[^\n]*(?:\n+|$)", re.MULTILINE)


def _strip_text(text: str) -> str:
    return _BILLING_LINE.sub("", text)


def _strip_blocks(blocks: list[Any], text_key: str = "text") -> bool:
    """Drop text blocks that are only the billing header; cut the header line out of the rest."""
    changed = False
    for i in range(len(blocks) - 1, -1, -1):
        block = blocks[i]
        if isinstance(block, str):
            if BILLING_PREFIX in block:
                new = _strip_text(block)
                if new != block:
                    changed = True
                    if new.strip():
                        blocks[i] = new
                    else:
                        del blocks[i]
            continue
        if not isinstance(block, dict) or not isinstance(block.get(text_key), str):
            continue
        text = block[text_key]
        if BILLING_PREFIX not in text:
            continue
        new = _strip_text(text)
        if new == text:
            continue
        changed = True
        if new.strip():
            block[text_key] = new
        else:
            del blocks[i]
    return changed


def _strip_content(holder: dict[str, Any], key: str) -> tuple[bool, bool]:
    """Strip from holder[key] (a string or a list of parts); (changed, now empty)."""
    value = holder.get(key)
    if isinstance(value, str):
        if BILLING_PREFIX not in value:
            return False, False
        new = _strip_text(value)
        if new == value:
            return False, False
        holder[key] = new
        return True, not new.strip()
    if isinstance(value, list):
        changed = _strip_blocks(value)
        return changed, changed and not value
    return False, False


def strip_billing_header(body: dict[str, Any], dialect: str) -> bool:
    """Remove Claude Code's per-request `x-anthropic-billing-header: …cch=…;` text.

    It leads the system prompt and changes every turn, so every prefix cache misses from
    token one. Anthropic form: a block of `system`; Chat form: the head of a system (or
    developer) message; Responses form: the head of `instructions` or of a system input item.
    """
    if dialect == "anthropic":
        changed, empty = _strip_content(body, "system")
        if empty:
            del body["system"]
        return changed
    key = "messages" if dialect == "openai" else "input"
    changed = False
    if dialect == "responses":
        c, empty = _strip_content(body, "instructions")
        changed |= c
        if empty:
            del body["instructions"]
    items = body.get(key)
    if not isinstance(items, list):
        return changed
    for i in range(len(items) - 1, -1, -1):
        msg = items[i]
        if not isinstance(msg, dict) or msg.get("role") not in ("system", "developer"):
            continue
        c, empty = _strip_content(msg, "content")
        changed |= c
        if empty:
            del items[i]
    return changed


# -- lift_system --------------------------------------------------------------------------
