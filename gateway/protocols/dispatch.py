"""The one entry point the proxy calls: translate a request, a response body, or a stream.

Dialects: "anthropic" | "openai" (Chat Completions) | "responses" | "gemini".
For requests `src` is the dialect the agent called and `dst` the upstream's dialect; for
responses and streams `src` is the upstream's dialect and `dst` the client's.
Requests go through Chat Completions as the hub (it is what most free models speak);
response bodies go through an Anthropic message (it has thinking, tool use and cache usage).
Same dialect on both sides is the identity: bytes the gateway need not change stay unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.protocols import anthropic_to_chat, chat_to_anthropic, gemini_translate, thought_signatures
from gateway.protocols import responses_translate as rt
from gateway.protocols.errors import TranslationError
from gateway.protocols.streams import PassThrough, StreamTranslator, stream_translator
from gateway.protocols.thinking import drop_foreign_thinking

__all__ = [
    "PassThrough",
    "StreamTranslator",
    "TranslationError",
    "drop_foreign_thinking",
    "stream_translator",
    "translate_request",
    "translate_response",
]


def _to_chat(
    body: dict[str, Any], src: str, model: str, stream: bool | None, reasoning_style: str
) -> dict[str, Any]:
    if src == "openai":
        return {**body, "model": model}
    if src == "anthropic":
        return anthropic_to_chat.request(body, model=model, reasoning_style=reasoning_style)
    if src == "responses":
        return rt.request_to_chat(body, model=model)
    if src == "gemini":
        return gemini_translate.request_to_chat(body, model=model, stream=bool(stream))
    raise TranslationError(f"unknown request dialect {src!r}")


def translate_request(
    body: dict[str, Any],
    src: str,
    dst: str,
    *,
    model: str,
    stream: bool | None = None,
    reasoning_style: str = "effort",
) -> dict[str, Any]:
    """A request for `dst`'s upstream. Raises TranslationError (answer 400) when it cannot be expressed.

    `stream` matters for Gemini, whose streaming is chosen by the URL, not the body.
    `reasoning_style` "openrouter" asks for OpenRouter's `reasoning` object instead of `reasoning_effort`.
    """
    if src == dst:
        if src == "gemini" or body.get("model") == model:
            return body
        return {**body, "model": model}
    chat = _to_chat(body, src, model, stream, reasoning_style)
    if src != "openai":  # Gemini's thought signatures ride in tool ids; only a Gemini model gets them back
        thought_signatures.restore(chat, keep=dst == "openai" and thought_signatures.for_gemini(model))
    if stream is not None and dst != "gemini":
        chat["stream"] = stream
        if stream:
            chat["stream_options"] = {"include_usage": True}
        else:
            chat.pop("stream_options", None)
    if dst == "openai":
        return chat
    if dst == "anthropic":
        return chat_to_anthropic.request(chat, model=model)
    if dst == "responses":
        return rt.chat_request_to_responses(chat, model=model)
    raise TranslationError(f"the gateway cannot send requests to a {dst!r} upstream")


def _to_hub(body: dict[str, Any], src: str, requested_model: str, upstream_model: str) -> dict[str, Any]:
    if src == "anthropic":
        return body
    if src == "openai":
        return chat_to_anthropic.response(
            body, requested_model=requested_model, upstream_model=upstream_model
        )
    if src == "responses":
        return rt.responses_to_anthropic(body, requested_model=requested_model, upstream_model=upstream_model)
    raise TranslationError(f"the gateway cannot read responses from a {src!r} upstream")


_FROM_HUB: dict[str, Callable[..., dict[str, Any]]] = {
    "openai": anthropic_to_chat.response,
    "responses": rt.anthropic_to_responses,
    "gemini": gemini_translate.anthropic_to_gemini,
}


def translate_response(
    body: dict[str, Any], src: str, dst: str, *, requested_model: str, upstream_model: str = ""
) -> dict[str, Any]:
    """A non-streamed answer from a `src` upstream, in the `dst` dialect.

    Raises UpstreamMalformed (before any byte is sent: the proxy may fall back) when the
    upstream answer cannot be translated, e.g. tool arguments that are not JSON.
    `upstream_model`: the configured upstream id (Model.id). Reasoning the gateway captures is
    signed with it, so the next turn recognises the same model even when the provider reports a
    different spelling in the body; without it the body's `model` is used.
    """
    if src == dst:
        return body
    hub = _to_hub(body, src, requested_model, upstream_model)
    if dst == "anthropic":
        return {**hub, "model": requested_model}
    if dst not in _FROM_HUB:
        raise TranslationError(f"unknown client dialect {dst!r}")
    return _FROM_HUB[dst](hub, requested_model=requested_model)
