"""A team token is a client's key: off loopback it opens the provider API and `/xx/ready`, and
every other admin route (rows, events, stats, model resets) answers it 403. Walks the URL map,
so an admin route added tomorrow is covered."""

from __future__ import annotations

import time
from pathlib import Path

from support.auth_apps import OUTSIDE, TOKEN, concrete, token_app

from gateway.accounting import tokens
from gateway.routes.auth import OPEN_PATHS, TEAM_TOKEN_ADMIN, team_token_may


def _team_token(state: Path) -> str:
    clear = tokens.new_token()
    tokens.FileTokens(state / "tokens.json").save([tokens.Token("erin", tokens.digest(clear), clear[:8], time.time())])
    return clear


def _admin(rule: str) -> bool:
    return rule.startswith("/xx/") or rule in ("/metrics", "/ready")


async def test_a_team_token_reaches_models_and_ready_but_no_other_admin_route(tmp_path: Path) -> None:
    erin = _team_token(tmp_path)
    app = token_app(tmp_path)
    body = {"messages": [{"role": "user", "content": "hi"}], "contents": [{"parts": [{"text": "hi"}]}]}
    refused = 0
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or rule.rule in OPEN_PATHS:
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                path = concrete(rule.rule)
                resp = await client.open(path, method=method, json=body, scope_base=OUTSIDE,
                                         headers={"authorization": f"Bearer {erin}"})
                if _admin(rule.rule) and rule.rule not in TEAM_TOKEN_ADMIN:
                    assert resp.status_code == 403, (method, rule.rule, resp.status_code)
                    assert "gateway's token" in (await resp.get_data(as_text=True))
                    refused += 1
                else:
                    assert resp.status_code not in (401, 403), (method, rule.rule, resp.status_code)
        assert refused >= 7  # /metrics, /xx/stats, requests, usage, events, models, models/<name>/reset
        for path in ("/xx/requests", "/xx/models"):  # the gateway's own token still opens them
            ok = await client.get(path, headers={"x-xx-token": TOKEN}, scope_base=OUTSIDE)
            assert ok.status_code == 200, path
        local = await client.get("/xx/requests", headers={"authorization": f"Bearer {erin}"})
        assert local.status_code == 200  # loopback stays open, as for every client


def test_team_token_may_is_pure() -> None:
    assert team_token_may("/v1/messages") and team_token_may("/x/claude/p/f/v1/chat/completions")
    assert team_token_may("/xx/ready") and team_token_may("/ready")
    assert not team_token_may("/xx/requests") and not team_token_may("/xx/models/m/reset")
    assert not team_token_may("/metrics") and not team_token_may("/xx/events")
