"""Catalog parsing and the agent-use filter: OpenRouter's two shapes, OpenAI-compatible lists, bad input."""

from __future__ import annotations

import json

import pytest

from gateway.scan import catalog
from gateway.scan.catalog import CatalogError, Entry
from gateway.simulator.catalog import endpoints_json, models_json

NOW = 1_800_000_000.0


def test_openrouter_models_and_endpoints_shapes() -> None:
    entries = {e.id: e for e in catalog.openrouter_models(json.dumps(models_json(NOW)), "or")}
    kimi = entries["moonshotai/kimi-k2.6:free"]
    assert (kimi.context, kimi.free, kimi.tools, kimi.text_io) == (262144, True, True, True)
    sonnet = entries["anthropic/claude-sonnet-4.6"]
    assert not sonnet.free and sonnet.price == {"input": 3.0, "output": 15.0, "cache_read": 0.3}
    assert entries["meta-llama/llama-4-scout:free"].tools is False
    assert entries["black-forest-labs/flux-2:free"].text_io is False
    assert entries["z-ai/glm-4.5-air:free"].context is None
    refined = catalog.openrouter_endpoints(json.dumps(endpoints_json("moonshotai/kimi-k2.6")), kimi)
    assert (refined.uptime, refined.latency_s, refined.throughput, refined.caching) == (99.2, 0.9, 55.0, True)


def test_openai_compatible_lists_take_a_window_under_any_known_name() -> None:
    raw = json.dumps({"object": "list", "data": [
        {"id": "llama-3.3-70b-versatile", "object": "model", "context_window": 131072},  # Groq
        {"id": "mistral-large-latest", "max_context_length": 131072},  # Mistral
        {"id": "plain", "object": "model", "owned_by": "x"},
        {"object": "model"},  # no id: dropped
    ]})  # fmt: skip
    entries = catalog.openai_models(raw, "p")
    assert [(e.id, e.context) for e in entries] == [("llama-3.3-70b-versatile", 131072), ("mistral-large-latest", 131072),
                                                    ("plain", None)]


@pytest.mark.parametrize(("raw", "says"), [
    (b"<html>502 Bad Gateway</html>", "is not JSON"),
    (b"", "is not JSON"),
    (b'{"models": []}', "no `data` list"),
    (b'{"data": "none"}', "no `data` list"),
    (b"\xff\xfe", "is not JSON"),
])  # fmt: skip
def test_a_catalog_that_cannot_be_read_is_a_reason_not_a_crash(raw: bytes, says: str) -> None:
    with pytest.raises(CatalogError, match=says):
        catalog.openrouter_models(raw, "p")
    with pytest.raises(CatalogError):
        catalog.openai_models(raw, "p")


def test_endpoints_that_cannot_be_read() -> None:
    e = Entry("p", "a/b")
    for raw in (b"nope", b'{"data": {}}', b'{"data": {"endpoints": []}}'):
        with pytest.raises(CatalogError):
            catalog.openrouter_endpoints(raw, e)


@pytest.mark.parametrize(("entry", "reason"), [
    (Entry("p", "ok:free", context=131072, free=True, tools=True, text_io=True), None),
    (Entry("p", "unknown-tools:free", context=131072, free=True), None),  # the probe decides
    (Entry("p", "img:free", context=131072, free=True, text_io=False), "no text in and out"),
    (Entry("p", "notools:free", context=131072, free=True, tools=False), "no tool calling"),
    (Entry("p", "noctx:free", free=True, tools=True), "no context length"),
    (Entry("p", "tiny:free", context=8192, free=True), "below the 32000"),
    (Entry("p", "soon:free", context=131072, free=True, expires="2027-01-18"), "expires on 2027-01-18"),
    (Entry("p", "later:free", context=131072, free=True, expires="2027-03-01"), None),
    (Entry("p", "odd:free", context=131072, free=True, expires="someday"), None),
])  # fmt: skip
def test_select_keeps_what_an_agent_can_use(entry: Entry, reason: str | None) -> None:
    keep, rejected = catalog.select([entry], NOW)
    if reason is None:
        assert keep == [entry] and not rejected
    else:
        assert not keep and reason in rejected[0].reason


def test_select_discovers_only_free_models_and_fills_a_window_from_the_config() -> None:
    paid = Entry("p", "paid", context=200000, tools=True)
    noctx = Entry("p", "mine", tools=True)
    keep, rejected = catalog.select([paid, noctx], NOW, configured={"mine": 65536})
    assert [(e.id, e.context) for e in keep] == [("mine", 65536)] and not rejected
    keep, _ = catalog.select([paid], NOW, configured={"paid": None})
    assert keep == [paid]
    keep, _ = catalog.select([Entry("p", "x:free", context=65536, free=True)], NOW, discover_free=False)
    assert keep == []
