"""Answers that will not clear soon carry `x-should-retry: false`; the official SDKs then fail at once."""

from __future__ import annotations

import time

import anthropic
import openai
import pytest
from support.scripted import two_model_config
from support.servers import free_port

from gateway.exchange import Attempt
from gateway.routing.finality import attempt_is_final, is_final, skip_is_final

MSG = {"model": "claude-x", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


def test_decisions() -> None:
    assert attempt_is_final(None, "cannot connect to openrouter.ai: Name or service not known", False)
    assert attempt_is_final(401, "HTTP 401: bad key", True) and attempt_is_final(None, "HTTP 403: no", True)
    assert not attempt_is_final(None, "no response from h within 30s", True)
    assert not attempt_is_final(529, "HTTP 529: overloaded", True)
    assert skip_is_final("breaker open (3 failures)", 158.0, 100.0)
    assert not skip_is_final("breaker open (3 failures)", 103.0, 100.0)
    assert not skip_is_final("a: 20 requests per minute used", 140.0, 100.0)  # an agent waits for that
    assert skip_is_final("a: 200 requests per day used", 100.0 + 3600, 100.0)
    assert skip_is_final("no API key (X_KEY unset)", None, 0) and not skip_is_final("half-open probe in flight", None, 0)
    assert not is_final([], [], 0.0)
    assert not is_final([Attempt("a", "p", status=None, error="cannot connect to h: x")],
                        [{"reason": "cooling down (429 retry-after 2s)", "until": 3.0}], 0.0)


def _closed(breaker: str = "failures = 1\ncooldown_s = 30", protocol: str = "anthropic"):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    return two_model_config(free_port(), dead, dead, breaker=breaker, first_dialect=protocol, second_dialect=protocol)


def test_anthropic_sdk_fails_at_once_with_the_cause(make_gateway) -> None:
    gw = make_gateway(_closed())
    client = anthropic.Anthropic(base_url=gw.url, api_key="x", max_retries=2)
    for _ in range(2):  # the connect failure itself, then the open breakers it left behind
        t0 = time.monotonic()
        with pytest.raises(anthropic.APIStatusError) as info:
            client.messages.create(**MSG)
        assert time.monotonic() - t0 < 3
        assert info.value.response.headers.get("x-should-retry") == "false"
        assert "cannot connect to 127.0.0.1" in str(info.value) and "(Connection refused)" in str(info.value), info.value
    assert len(gw.rows(at_least=2)) == 2  # one request each: the SDK did not retry


def test_openai_sdk_fails_at_once_with_the_cause(make_gateway) -> None:
    gw = make_gateway(_closed(protocol="openai"))
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key="x", max_retries=2)
    t0 = time.monotonic()
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="gpt-x", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert time.monotonic() - t0 < 3 and "cannot connect to 127.0.0.1" in str(info.value), info.value
    assert len(gw.rows(at_least=1)) == 1


def test_a_short_wait_keeps_the_clients_retries(make_gateway) -> None:
    gw = make_gateway(_closed(breaker="failures = 1\ncooldown_s = 2"))
    client = anthropic.Anthropic(base_url=gw.url, api_key="x", max_retries=0)
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(**MSG)
    with pytest.raises(anthropic.RateLimitError) as info:  # both breakers open for 2 s: a 429 worth retrying
        client.messages.create(**MSG)
    assert "x-should-retry" not in info.value.response.headers and info.value.response.headers["retry-after"]


def test_an_unknown_host_names_the_dns_failure(make_gateway) -> None:
    gw = make_gateway(two_model_config(free_port(), "http://no-such-host.invalid", "http://no-such-host.invalid"))
    with pytest.raises(anthropic.APIStatusError) as info:
        anthropic.Anthropic(base_url=gw.url, api_key="x", max_retries=2).messages.create(**MSG)
    assert "cannot connect to no-such-host.invalid (" in str(info.value), info.value
    assert info.value.response.headers.get("x-should-retry") == "false"
