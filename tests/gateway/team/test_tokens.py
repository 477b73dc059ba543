"""Team tokens through a real gateway: admitted, refused when revoked, budgeted, attributed in the ledger."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support.dbservers import RedisServer
from support.servers import GatewayThread, wait_for
from support.team_cluster import chat, team_config, team_config_text

from gateway.accounting import tokens


def _add(store: tokens.FileTokens | tokens.PgTokens, name: str, **budget: object) -> str:
    clear = tokens.new_token()
    tok = tokens.Token(name, tokens.digest(clear), clear[:8], time.time(), None, **budget)  # type: ignore[arg-type]
    asyncio.run(store.upsert(tok))
    return clear


def test_file_tokens_admit_refuse_and_budget(simulator_thread, tmp_path: Path) -> None:
    store = tokens.FileTokens(tmp_path / "tokens.json")
    alice = _add(store, "alice", requests_per_day=2)
    gone = _add(store, "gone")
    tok = asyncio.run(store.aload())
    for t in tok:
        if t.name == "gone":
            t.revoked = time.time()
            asyncio.run(store.upsert(t))
    gw = GatewayThread(team_config(simulator_thread.url, state_url=None, ledger_url=None, rpm=1000),
                       tmp_path / "ledger.sqlite3").start()
    try:
        with httpx.Client(timeout=10) as c:
            assert chat(c, gw.url, "one", token=alice).status_code == 200
            assert chat(c, gw.url, "two", token=alice).status_code == 200
            over = chat(c, gw.url, "three", token=alice)
            assert over.status_code == 429 and "requests for today" in over.json()["error"]["message"]
            assert int(over.headers["retry-after"]) > 0
            refused = chat(c, gw.url, "x", token=gone)
            assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
            unknown = c.post(gw.url + "/v1/messages", headers={"x-api-key": "xxt_not-a-real-token"},
                             json={"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
            assert unknown.status_code == 401 and unknown.json()["type"] == "error"  # Anthropic's dialect
            assert chat(c, gw.url, "no token on loopback").status_code == 200  # the single-user default
        assert alice not in (tmp_path / "tokens.json").read_text(), "a clear token was stored"
    finally:
        gw.stop()


def test_pg_tokens_attribute_rows_and_revoke_across_instances(simulator_thread, redis_server: RedisServer,
                                                              pg_url: str, tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(team_config_text(simulator_thread.url, 1, state_url=redis_server.url, ledger_url=pg_url))
    env = {**os.environ, "XX_CONFIG": str(cfg_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    made = subprocess.run([sys.executable, "-m", "xx", "gateway", "token", "create", "bob", "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    import json

    bob = json.loads(made.stdout)["token"]
    gws = [GatewayThread(team_config(simulator_thread.url, state_url=redis_server.url, ledger_url=pg_url, rpm=1000),
                         tmp_path / f"l{i}.sqlite3").start() for i in range(2)]
    try:
        with httpx.Client(timeout=10) as c:
            for gw in gws:
                assert chat(c, gw.url, f"from bob via {gw.url}", token=bob).status_code == 200
        def bobs() -> int:  # the other instance's row reaches PostgreSQL within its spool's group-commit window
            rows = httpx.get(gws[0].url + "/xx/requests?limit=10", timeout=5).json()["requests"]
            return [r["token"] for r in rows].count("bob")

        wait_for(lambda: bobs() == 2, 5.0, "both instances' rows, attributed to bob")
        listed = subprocess.run([sys.executable, "-m", "xx", "gateway", "token", "list", "--json"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert bob not in listed.stdout and json.loads(listed.stdout)[0]["name"] == "bob"
        revoked = subprocess.run([sys.executable, "-m", "xx", "gateway", "token", "revoke", "bob"], env=env,
                                 capture_output=True, text=True, timeout=60)
        assert revoked.returncode == 0, revoked.stderr
        with httpx.Client(timeout=10) as c:
            wait_for(lambda: all(chat(c, gw.url, "again", token=bob).status_code == 401 for gw in gws), 6.0,
                     "the revocation to reach both instances")
    finally:
        for gw in gws:
            gw.stop()


def test_events_name_the_token(simulator_thread, tmp_path: Path) -> None:
    """The dashboard's feed (/xx/events) carries the token's name of each request."""
    import json
    import threading

    store = tokens.FileTokens(tmp_path / "tokens.json")
    dave = _add(store, "dave")
    gw = GatewayThread(team_config(simulator_thread.url, state_url=None, ledger_url=None, rpm=1000),
                       tmp_path / "ledger.sqlite3").start()
    try:
        def later() -> None:
            time.sleep(0.5)
            with httpx.Client(timeout=10) as c:
                chat(c, gw.url, "for the feed", token=dave)

        threading.Thread(target=later, daemon=True).start()
        seen = None
        with httpx.Client(timeout=10) as c, c.stream("GET", gw.url + "/xx/events") as r:
            for line in r.iter_lines():
                if line.startswith("data:") and '"token"' in line:  # an exchange event
                    seen = json.loads(line[5:])
                    break
        assert seen is not None and seen["token"] == "dave", seen
    finally:
        gw.stop()
