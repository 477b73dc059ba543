"""A whole scan against the simulated catalogs, and the gateway routing tiers m and f by its result."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from support.servers import free_port, wait_for

from gateway.config import Timeouts, parse
from gateway.scan import store
from gateway.scan.refresh import due
from gateway.scan.run import scan
from gateway.scan.view import build
from gateway.simulator.catalog import scan_config_text

FAST = Timeouts(connect=2.0, first_byte=1.5, idle=1.5)


def run_scan(sim, budget: int, **kw):
    cfg = parse(scan_config_text(sim.url), env={})
    return cfg, asyncio.run(scan(cfg, budget=budget, timeouts=FAST, **kw))


def by_id(report) -> dict:
    return {m["id"]: m for m in report["models"]}


def test_the_scan_ranks_as_a_person_would_and_says_why_not(simulator_thread) -> None:
    _, rep = run_scan(simulator_thread, 8)
    m = by_id(rep)
    usable = [x["id"] for x in rep["models"] if x["usable"]]
    assert usable == ["deepseek/deepseek-v4-flash:free", "moonshotai/kimi-k2.6:free",
                      "nvidia/nemotron-3-super-120b-a12b:free"], usable
    assert "not valid JSON" in m["openai/gpt-oss-120b:free"]["reason"]
    assert "within 1.5s" in m["qwen/qwen3-coder:free"]["reason"]  # the model that never answers
    assert "without calling the tool" in m["minimax/minimax-m2:free"]["reason"]
    skipped = {s["id"]: s["reason"] for s in rep["skipped"]}
    assert "no context length" in skipped["z-ai/glm-4.5-air:free"]
    assert "no context length" in skipped["sim/nemotron-3-nano:free"]  # OpenAI-compatible list, no window
    assert "no tool calling" in skipped["meta-llama/llama-4-scout:free"]
    assert "expires on" in skipped["mistralai/devstral-small:free"]
    assert "below the 32000" in skipped["google/gemma-3-4b-it:free"]
    assert "anthropic/claude-sonnet-4.6" not in m and "anthropic/claude-sonnet-4.6" not in skipped  # paid, not chosen
    assert "is not JSON" in rep["providers"]["flaky"]["error"]
    assert m["sim/kimi-k2.6:free"]["context"] == 65536  # the configured window fills the list's gap
    assert m["moonshotai/kimi-k2.6:free"]["catalog"]["uptime"] == 99.2  # from /models/<id>:free/endpoints
    assert rep["spent"] == simulator_thread.calls() <= 8


@pytest.mark.parametrize("budget", [0, 1, 3])
def test_the_budget_is_never_exceeded(simulator_thread, budget: int) -> None:
    _, rep = run_scan(simulator_thread, budget)
    assert rep["spent"] == simulator_thread.calls() == budget
    assert sum(1 for x in rep["models"] if x.get("probe") and x["probe"].get("status")) <= budget
    assert all(x["reason"].startswith("not probed") for x in rep["models"] if not x.get("probe"))


def test_the_view_ranks_free_tiers_from_free_models_and_fills_windows(simulator_thread) -> None:
    cfg, rep = run_scan(simulator_thread, 8)
    view = build(rep, cfg)
    f, m = cfg.tiers["free"], cfg.tiers["best"]
    assert view.ranking(f, "big", cfg)[:3] == ["deepseek/deepseek-v4-flash:free", "kimi-free",
                                               "nvidia/nemotron-3-super-120b-a12b:free"]
    assert view.ranking(f, "big", cfg)[-2:] == ["gptoss-free", "qwen-coder-free"]  # broken ones last, never first
    assert view.ranking(m, "big", cfg)[0] == "deepseek/deepseek-v4-flash:free"
    assert view.windows["kimi-free"] == 262144 and view.models["deepseek/deepseek-v4-flash:free"].context == 163840
    assert "gptoss-free" in view.unusable


def test_a_scan_result_that_cannot_be_read_means_no_scan(tmp_path: Path) -> None:
    p = tmp_path / "scan.json"
    assert store.load(p) is None
    for text in ("{not json", "[]", '{"version": 99, "models": []}', '{"version": 1, "models": "x"}'):
        p.write_text(text)
        assert store.load(p) is None
    store.save(p, {"scanned_at": 5.0, "models": []})
    assert store.load(p)["scanned_at"] == 5.0 and store.age_h(store.load(p), 3605.0) == 1.0


@pytest.mark.parametrize(("scanned_h_ago", "last_try_h_ago", "rank", "expected"), [
    (None, None, "scan", False),  # no scan yet: the first one is the user's decision
    (1, None, "scan", False),
    (25, None, "scan", True),
    (25, 2, "scan", False),  # tried two hours ago (and failed): at most once per period
    (25, 25, "scan", True),
    (25, None, "health", False),  # nothing ranked by the scan
])  # fmt: skip
def test_background_refresh_is_due_at_most_once_per_period(scanned_h_ago, last_try_h_ago, rank, expected) -> None:
    now = 1_800_000_000.0
    cfg = parse(scan_config_text("http://127.0.0.1:9").replace('rank = "scan"', f'rank = "{rank}"'), env={})
    result = None if scanned_h_ago is None else {"scanned_at": now - scanned_h_ago * 3600, "models": []}
    last = None if last_try_h_ago is None else now - last_try_h_ago * 3600
    assert due(result, last, cfg, now) is expected


def test_the_gateway_routes_m_and_f_by_the_scan_and_picks_up_a_new_one(simulator_thread, make_gateway, tmp_path) -> None:
    cfg, rep = run_scan(simulator_thread, 8)
    store.save(tmp_path / store.FILE, rep)
    cfg = parse(scan_config_text(simulator_thread.url, port=free_port()), env={})
    gw = make_gateway(cfg)

    def ask(tier: str) -> str:
        r = httpx.post(f"{gw.url}/x/t/p/{tier}/v1/chat/completions", timeout=30,
                       json={"model": "x", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200, r.text
        return r.headers["x-xx-model"]

    assert ask("best") == ask("free") == "deepseek/deepseek-v4-flash:free"
    rows = {r["name"]: r for r in httpx.get(gw.url + "/xx/models", timeout=5).json()["models"]}
    kimi = rows["kimi-free"]
    assert kimi["context"] == 262144 and kimi["context_source"] == "scan" and kimi["score"] > 0.5
    assert kimi["scanned_at"] == rep["scanned_at"] and "not valid JSON" in rows["gptoss-free"]["scan_rejected"]
    found = rows["deepseek/deepseek-v4-flash:free"]  # served by tier m, so listed although the config names it not
    assert found["discovered"] and not kimi["discovered"] and found["context"] == 163840
    assert found["rpd"]["used"] >= 1 and found["tiers"] == {"free": ["ranked"], "best": ["ranked"]}
    # a new scan in which only kimi answers: the running gateway follows it within its one-second tick
    newer = {**rep, "scanned_at": time.time(), "models": [
        {**x, "usable": x["id"] == "moonshotai/kimi-k2.6:free"} for x in rep["models"]]}
    time.sleep(0.05)  # a distinct mtime
    store.save(tmp_path / store.FILE, newer)
    wait_for(lambda: ask("best") == "kimi-free", 5, "the gateway to pick up the new scan")
    assert json.loads((tmp_path / store.FILE).read_text())["version"] == 1


def test_the_view_keeps_windows_of_rejected_models_and_the_launcher_uses_the_best_ones() -> None:
    cfg = parse(scan_config_text("http://127.0.0.1:9"), env={})
    result = {"scanned_at": 1.0, "models": [
        {"provider": "openrouter", "id": "deepseek/deepseek-v4-flash:free", "usable": True, "score": 0.9,
         "context": 163840, "free": True},
        {"provider": "openrouter", "id": "moonshotai/kimi-k2.6:free", "usable": True, "score": 0.8, "context": 262144},
    ], "skipped": [
        {"provider": "openrouter", "id": "openai/gpt-oss-120b:free", "reason": "context 8192 is below the 32000",
         "context": 8192},
        {"provider": "openrouter", "id": "z-ai/glm-4.5-air:free", "reason": "no context length in the catalog"},
        {"provider": "openrouter", "id": "not/configured", "reason": "no tool calling", "context": 4096},
    ]}  # fmt: skip
    view = build(result, cfg)
    assert view.windows["gptoss-free"] == 8192 and "below" in view.unusable["gptoss-free"]
    assert "glm-free" not in view.unusable and "not/configured" not in view.windows
    assert view.ranking(cfg.tiers["free"], "big", cfg)[-1] == "gptoss-free"  # never first
    # compaction follows the models the tier routes to, not an 8k one it only reaches when all else fails
    assert sorted(view.big_windows(cfg.tiers["best"], cfg)) == [163840, 262144]
    assert sorted(view.big_windows(cfg.tiers["free"], cfg)) == [163840, 262144]
