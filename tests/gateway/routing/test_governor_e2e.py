"""The governor through the real gateway and the simulator's free plans: keys, refusals, a burst of 20, dead hosts."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest
from support.servers import free_port

from gateway.config import parse
from gateway.routing.keys import fingerprint
from gateway.simulator import ManualClock
from gateway.simulator.limits import FreePlan, LimitBook

START = 1_800_000_000 - 1_800_000_000 % 86400 + 3600
K1, K2 = "sk-or-first-key-value", "sk-or-second-key-value-longer"
FP1, FP2 = fingerprint(K1), fingerprint(K2)
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}]}


def config_text(sim: str, port: int, *, keys: str = '["$K1", "$K2"]', mc: int = 4, dead: str = "", rpd: int = 1000) -> str:
    return f"""
[gateway]
port = {port}
default_tier = "t"

[providers.or]
protocol = "openai"
base_url = "{sim}/p/openrouter/v1"
api_keys = {keys}
pool = "free"

[providers.mis]
protocol = "openai"
base_url = "{dead or sim + '/p/mistral/v1'}"
api_key = "$M"
pool = "mis"

[pools.free]
rpm = 20
rpd = 50

[pools.mis]
rpd = {rpd}
max_concurrency = {mc}

[models.a]
provider = "or"
id = "x/a:free"

[models.b]
provider = "or"
id = "x/b:free"

[models.m]
provider = "mis"
id = "devstral-small-latest"

[tiers.t]
letter = "t"
big = ["a", "b", "m"]

[tiers.m]
letter = "m"
big = ["m", "a"]
"""


ENV = {"K1": K1, "K2": K2, "M": "mistral-key"}


@pytest.fixture
def world(simulator_thread, make_gateway):
    def build(**kw):
        clock = ManualClock(START)
        cfg = parse(config_text(simulator_thread.url, free_port(), **kw), source="<test>", env=ENV)
        simulator_thread.state.limits = LimitBook(clock, {**LimitBook(clock).plans,
                                                          "mistral": FreePlan("mistral", concurrency=4)})
        return simulator_thread, make_gateway(cfg, clock=clock), clock, cfg

    return build


def chat(gw, tier: str = "t") -> httpx.Response:
    return httpx.post(f"{gw.url}/x/test/p/{tier}/v1/chat/completions", json=CHAT, timeout=30)


def test_keys_rotate_and_the_ledger_names_each_by_fingerprint(world) -> None:
    sim, gw, _clock, _cfg = world()
    for _ in range(4):
        assert chat(gw).status_code == 200
    rows = gw.rows(4)
    assert sorted(r["key_fp"] for r in rows) == sorted([FP1, FP1, FP2, FP2])
    assert {r["attempts"][0]["key"] for r in rows} == {FP1, FP2}
    lengths = {r["headers"]["authorization"] for r in sim.requests("x/a:free")}
    assert lengths == {f"<redacted:{len('Bearer ' + K1)}>", f"<redacted:{len('Bearer ' + K2)}>"}
    view = httpx.get(f"{gw.url}/xx/models").json()
    pool = next(p for p in view["pools"] if p["name"] == "free")
    assert [(k["ref"], k["key"], k["rpd"]["used"]) for k in pool["keys"]] == [("$K1", FP1, 2), ("$K2", FP2, 2)]
    text = httpx.get(f"{gw.url}/xx/models").text + gw.ledger_path.read_bytes().decode(errors="replace")
    assert K1 not in text and K2 not in text


def test_a_401_retires_the_key_not_the_model(world) -> None:
    sim, gw, _clock, _cfg = world()
    sim.fault("x/a:free", {"kind": "status", "status": 401, "message": "invalid api key"})
    r = chat(gw)
    assert r.status_code == 200 and r.headers["x-xx-model"] == "b"  # this request moves on
    for _ in range(3):
        r = chat(gw)
        assert r.headers["x-xx-model"] == "a"  # the model still serves, on the other key
    assert {row["key_fp"] for row in gw.rows(4)[:3]} == {FP2}
    a = next(m for m in httpx.get(f"{gw.url}/xx/models").json()["models"] if m["name"] == "a")
    assert a["state"] == "healthy"
    assert [k["retired"] for k in a["keys"]] == [True, False]


def test_an_account_wide_429_cools_every_model_of_the_account(world) -> None:
    sim, gw, _clock, _cfg = world(keys='["$K1"]')
    sim.fault("x/a:free", {"kind": "status", "status": 429, "retry_after": 120,
                           "message": "Rate limit exceeded: free-models-per-min"})
    r = chat(gw)
    assert r.status_code == 200 and r.headers["x-xx-model"] == "m"  # b is skipped: the account is spent
    row = gw.rows(1)[0]
    assert [a["model"] for a in row["attempts"]] == ["a", "m"]
    assert any(s["model"] == "b" and "cooling" in s["reason"] for s in row["skipped"])
    assert sim.calls("x/b:free") == 0


def test_a_burst_of_20_waits_for_max_concurrency_instead_of_meeting_a_429(world) -> None:
    sim, gw, _clock, _cfg = world(mc=4)
    sim.always("devstral-small-latest", {"kind": "stall", "seconds": 0.15})
    book = sim.state.limits
    book.plans["mistral"] = FreePlan("mistral", concurrency=4)  # the provider allows 4 at once
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda _: chat(gw, "m"), range(20)))
    assert all(r.status_code == 200 for r in codes)
    assert book.refused == 0  # no request was sent into the provider's limit
    assert sim.calls("devstral-small-latest") + sim.calls("x/a:free") == 20
    assert sim.calls("devstral-small-latest") == 20  # each waited its turn (0.15 s x 5 rounds < the 8 s bound)


def test_quota_is_untouched_by_connection_failures_in_memory_and_after_a_restart(world, make_gateway) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: connection refused
    _sim, gw, clock, cfg = world(dead=dead, rpd=2)
    for _ in range(5):
        r = chat(gw, "m")
        assert r.status_code == 200 and r.headers["x-xx-model"] == "a"
    m = next(x for x in httpx.get(f"{gw.url}/xx/models").json()["models"] if x["name"] == "m")
    assert m["rpd"]["used"] == 0 and m["state"] != "quota"  # rpd = 2, five refused connections: nothing spent
    tried = [a["reached"] for row in gw.rows(5) for a in row["attempts"] if a["model"] == "m"]
    assert tried and not any(tried)  # tried (until its breaker opened), never reached
    gw.stop()
    gw2 = make_gateway(cfg, clock=clock, ledger=gw.ledger_path)
    m = next(x for x in httpx.get(f"{gw2.url}/xx/models").json()["models"] if x["name"] == "m")
    assert m["rpd"]["used"] == 0
    free = next(p for p in httpx.get(f"{gw2.url}/xx/models").json()["pools"] if p["name"] == "free")
    assert sum(k["rpd"]["used"] for k in free["keys"]) == 5  # those that reached a provider still count, per key


def test_openrouter_key_endpoint_corrects_each_keys_day(simulator_thread, make_gateway) -> None:
    from gateway.simulator.limits import key_id

    clock = ManualClock(START)
    book = LimitBook(clock)
    simulator_thread.state.limits = book
    for _ in range(15):  # another tool spent 15 of the account's 50 free requests today
        book.release(book.admit("openrouter", key_id({"authorization": f"Bearer {K1}"}), "x/a:free", 10))
    cfg = parse(config_text(simulator_thread.url, free_port()), source="<test>", env=ENV)
    gw = make_gateway(cfg, clock=clock)

    def day_used() -> list[int]:
        pool = next(p for p in httpx.get(f"{gw.url}/xx/models").json()["pools"] if p["name"] == "free")
        return [k["rpd"]["used"] for k in pool["keys"]]

    from support.servers import wait_for

    wait_for(lambda: day_used() == [15, 0], 5, "the key endpoint's counter in the pool")
    assert simulator_thread.calls() == 0  # reading the counter spent no model request
