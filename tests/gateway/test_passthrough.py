"""The checked pass-through on real recordings: what a provider really sends is not "malformed".

OpenRouter's Responses endpoint ends its stream with `data: [DONE]` after `response.completed`
(OpenAI's own Responses API sends none). When the completed event and the marker arrived in one
read, the whole read was refused as "event data is not JSON" and a Responses client got
`response.failed` instead of its finished answer.
"""

from __future__ import annotations

from support.replay_upstream import by_name

from gateway.passthrough import CheckedPassThrough

OPENROUTER_RESPONSES = "openrouter/openrouter-responses-reasoning"


def test_openrouter_responses_done_marker_does_not_fail_the_stream() -> None:
    raw = by_name()[OPENROUTER_RESPONSES].raw()
    at = raw.rindex(b'"type":"response.completed"')  # this read: the end of the stream, marker included
    p = CheckedPassThrough("responses")
    out = p.feed(raw[:at]) + p.feed(raw[at:]) + p.close()
    assert p.failed is None
    assert b'"status":"failed"' not in out
    assert out.count(b'"type":"response.completed"') == 1
    assert out == raw  # every recorded byte, the marker too


def test_a_done_marker_in_one_read_with_everything_else_passes_whole() -> None:
    raw = by_name()[OPENROUTER_RESPONSES].raw()
    p = CheckedPassThrough("responses")
    assert p.feed(raw) + p.close() == raw
    assert p.failed is None


def test_data_that_is_not_json_still_fails_a_responses_stream() -> None:
    p = CheckedPassThrough("responses")
    out = p.feed(b'data: {"type":"response.created","response":{"id":"r1"}}\n\ndata: [NOPE]\n\n') + p.close()
    assert p.failed is not None and "not JSON" in p.failed
    assert b"response.failed" in out
