"""routes/auth.py: one hook gates every route; a route added tomorrow cannot skip it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.auth_apps import OUTSIDE, TOKEN, concrete, token_app

from gateway.routes.auth import OPEN_PATHS, allowed


async def test_every_route_but_health_refuses_a_stranger_without_the_token(tmp_path: Path) -> None:
    app = token_app(tmp_path)
    checked = 0
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                path = concrete(rule.rule)
                resp = await client.open(path, method=method, json={}, scope_base=OUTSIDE)
                if rule.rule in OPEN_PATHS:
                    assert resp.status_code == 200, (method, path)
                else:
                    assert resp.status_code == 401, (method, rule.rule, resp.status_code)
                    assert TOKEN not in (await resp.get_data(as_text=True))
                checked += 1
    assert checked >= 25  # the provider APIs (bare and prefixed), count_tokens, model lists, admin views


@pytest.mark.parametrize("path,method", [
    ("/v1/messages/count_tokens", "POST"), ("/v1/models", "GET"), ("/v1/models/some/model", "GET"),
    ("/v1beta/models/gemini-x:countTokens", "POST"), ("/xx/stats", "GET"),
])
async def test_the_token_opens_them(tmp_path: Path, path: str, method: str) -> None:
    app = token_app(tmp_path)
    body = {"messages": [{"role": "user", "content": "hi"}], "contents": [{"parts": [{"text": "hi"}]}]}
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for headers in ({"x-xx-token": TOKEN}, {"authorization": f"Bearer {TOKEN}"}, {"x-api-key": TOKEN}):
            resp = await client.open(path, method=method, json=body, headers=headers, scope_base=OUTSIDE)
            assert resp.status_code == 200, (path, headers, await resp.get_data(as_text=True))
        wrong = await client.open(path, method=method, json=body, headers={"x-xx-token": TOKEN[:-1] + "X"},
                                  scope_base=OUTSIDE)
        assert wrong.status_code == 401


def test_allowed_is_pure() -> None:
    assert allowed(None, "203.0.113.7", {})  # no token configured: the gateway is loopback-only anyway
    assert allowed(TOKEN, "127.0.0.1", {})
    assert not allowed(TOKEN, "203.0.113.7", {"x-xx-token": TOKEN + "x"})
    assert allowed(TOKEN, "203.0.113.7", {"authorization": f"bearer {TOKEN}"})
