"""Tool calls with arguments exactly as given, broken JSON included: what weak models really send.

`[[rawtool:NAME TEXT]]` in the last user message (or a scripted `{"tool": {"name", "raw_arguments"}}`)
makes the simulated model call NAME with TEXT as the argument string, unparsed, so the gateway's
tool-call repair can be tested end to end. The Anthropic renderers send TEXT as the streamed
`partial_json` and, in a JSON answer, as `input` (a string where an object belongs).
"""

from __future__ import annotations

import re

_RAW = re.compile(r"\[\[rawtool:([A-Za-z0-9_.:\-]+)\s(.*?)\]\]", re.S)


def parse_raw_directive(text: str) -> tuple[str, str] | None:
    """(tool name, argument text) from `[[rawtool:NAME TEXT]]`, or None."""
    m = _RAW.search(text)
    return (m.group(1), m.group(2).strip()) if m else None
