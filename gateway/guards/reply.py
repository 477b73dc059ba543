"""A text answer written by the gateway itself, in the client's dialect, JSON or streamed.

Built from the same parts as a translated answer: an Anthropic message (the response hub) run
through `translate_response`, or neutral stream events run through the dialect's emitter, so a
gateway answer is exactly as well-formed as a model's and needs no code of its own per dialect.
"""

from __future__ import annotations

from typing import Any

from gateway.exchange import Usage
from gateway.protocols.common import End, Finish, Start, Text, UsageSeen, new_id


def json_answer(text: str, dialect: str, model: str) -> dict[str, Any]:
    from gateway.protocols.dispatch import translate_response

    message = {
        "id": new_id("msg_xx"), "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }
    if dialect == "anthropic":
        return message
    return translate_response(message, "anthropic", dialect, requested_model=model)


def stream_answer(text: str, dialect: str, model: str) -> bytes:
    from gateway.protocols.streams import EMITTERS

    emitter = EMITTERS[dialect](model)
    usage = Usage(reported=True)
    out = bytearray()
    for event in (Start(new_id(""), model, usage), Text(text), UsageSeen(usage), Finish("end"), End()):
        out += emitter.handle(event)
    return bytes(out)
