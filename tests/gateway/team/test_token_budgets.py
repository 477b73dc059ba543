"""Per-token budgets with the embedded SQLite ledger: counted from the ledger, so they hold across a
restart and dollars are enforced too; only model calls count (not count_tokens, not admin routes)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from support.servers import GatewayThread, free_port, wait_for
from support.team_cluster import chat, team_config_text

from gateway.accounting import tokens
from gateway.config import Config, parse


def _config(sim_url: str, *, price: bool = False) -> Config:
    text = team_config_text(sim_url, free_port(), state_url=None, ledger_url=None, rpm=1000)
    if price:  # $1 per token: any answer costs more than a small daily budget
        for m in ("m1", "m2"):
            text = text.replace(f'id = "team-{m}"\n', f'id = "team-{m}"\nprice = {{ input = 1e6, output = 1e6 }}\n')
        assert "price" in text
    return parse(text, source="<team-test>", env={})


def _token(state: Path, name: str, **budget: object) -> str:
    clear = tokens.new_token()
    tok = tokens.Token(name, tokens.digest(clear), clear[:8], time.time(), None, **budget)  # type: ignore[arg-type]
    asyncio.run(tokens.FileTokens(state / "tokens.json").upsert(tok))
    return clear


def test_request_budget_survives_a_restart_and_counts_only_model_calls(simulator_thread, tmp_path: Path) -> None:
    alice = _token(tmp_path, "alice", requests_per_day=2)
    auth = {"authorization": f"Bearer {alice}"}
    gw = GatewayThread(_config(simulator_thread.url), tmp_path / "ledger.sqlite3").start()
    try:
        with httpx.Client(timeout=10) as c:
            for _ in range(3):  # answered locally: no provider call, no budget
                counted = c.post(gw.url + "/v1/messages/count_tokens", headers=auth,
                                 json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
                assert counted.status_code == 200, counted.text
                assert c.post(gw.url + "/xx/models/m1/reset", headers=auth).status_code < 400
            assert chat(c, gw.url, "one", token=alice).status_code == 200
    finally:
        gw.stop()
    gw = GatewayThread(_config(simulator_thread.url), tmp_path / "ledger.sqlite3").start()  # a restart
    try:
        with httpx.Client(timeout=10) as c:
            assert chat(c, gw.url, "two", token=alice).status_code == 200
            over = chat(c, gw.url, "three", token=alice)
        assert over.status_code == 429 and "2 requests for today" in over.json()["error"]["message"], over.text
    finally:
        gw.stop()
    gw = GatewayThread(_config(simulator_thread.url), tmp_path / "ledger.sqlite3").start()  # and again
    try:
        with httpx.Client(timeout=10) as c:
            assert chat(c, gw.url, "four", token=alice).status_code == 429
    finally:
        gw.stop()


def test_dollar_budget_is_enforced_with_the_sqlite_ledger(simulator_thread, tmp_path: Path) -> None:
    bob = _token(tmp_path, "bob", usd_per_day=0.5)
    gw = GatewayThread(_config(simulator_thread.url, price=True), tmp_path / "ledger.sqlite3").start()
    try:
        with httpx.Client(timeout=10) as c:
            assert chat(c, gw.url, "an expensive answer", token=bob).status_code == 200
            wait_for(lambda: chat(c, gw.url, "more", token=bob).status_code == 429, 8.0,
                     "the dollar budget to refuse bob (the ledger's spend is read every 2 s)")
            over = chat(c, gw.url, "still more", token=bob)
        assert "spent its $0.5 for today" in over.json()["error"]["message"], over.text
    finally:
        gw.stop()
    gw = GatewayThread(_config(simulator_thread.url, price=True), tmp_path / "ledger.sqlite3").start()
    try:
        with httpx.Client(timeout=10) as c:
            assert chat(c, gw.url, "after a restart", token=bob).status_code == 429
    finally:
        gw.stop()



def test_requests_in_flight_during_a_refresh_still_count(simulator_thread, tmp_path: Path) -> None:
    """A refresh (every 2 s) reads the ledger, which has no row yet for a request still being answered:
    such a request must keep counting, or a token sending in parallel gets past its budget."""
    import concurrent.futures

    carol = _token(tmp_path, "carol", requests_per_day=2)
    for model in ("team-m1", "team-m2"):
        simulator_thread.always(model, {"kind": "stall", "seconds": 3.0})
    gw = GatewayThread(_config(simulator_thread.url), tmp_path / "ledger.sqlite3").start()
    try:
        with httpx.Client(timeout=20) as c, concurrent.futures.ThreadPoolExecutor(2) as pool:
            slow = [pool.submit(chat, c, gw.url, f"slow {i}", token=carol) for i in range(2)]
            time.sleep(2.5)  # a refresh has run while both are in flight
            assert not any(f.done() for f in slow), "the upstream answered before a refresh: nothing tested"
            third = chat(c, gw.url, "a third while two are in flight", token=carol)
            assert [f.result().status_code for f in slow] == [200, 200]
        assert third.status_code == 429, third.text
    finally:
        gw.stop()
