"""The gateway re-scans a stale result in the background, within budget, at most once per period."""

from __future__ import annotations

import time

from support.servers import free_port, wait_for

from gateway.config import parse
from gateway.scan import store
from gateway.simulator.catalog import scan_config_text


def test_a_stale_scan_is_refreshed_once_within_budget(simulator_thread, make_gateway, tmp_path) -> None:
    stale = time.time() - 25 * 3600
    store.save(tmp_path / store.FILE, {"scanned_at": stale, "budget": 0, "spent": 0, "models": []})
    text = scan_config_text(simulator_thread.url, port=free_port()).replace("budget = 8", "budget = 3")
    gw = make_gateway(parse(text, env={}))
    fresh = wait_for(lambda: (r := store.load(tmp_path / store.FILE)) and r["scanned_at"] > stale and r, 20,
                     "a background re-scan")
    assert fresh["spent"] <= 3 and simulator_thread.calls() == fresh["spent"]
    assert any(m["usable"] for m in fresh["models"])
    probes = [r for r in gw.rows() if r["agent"] == "xx-scan"]
    assert len(probes) == fresh["spent"]  # probes are requests like any other: in the ledger
    calls = simulator_thread.calls()
    time.sleep(2.5)  # several background ticks: the fresh result is not stale, and the try was just made
    assert simulator_thread.calls() == calls


def test_probes_another_process_sent_count_in_the_running_gateways_quotas(simulator_thread, make_gateway, tmp_path) -> None:
    import asyncio

    from gateway.config import Timeouts
    from gateway.scan.run import scan

    text = scan_config_text(simulator_thread.url, port=free_port()) + '\n[pools.day]\nrpd = 1000\n'
    text = text.replace('base_url = "' + simulator_thread.url + '/api/v1"',
                        'base_url = "' + simulator_thread.url + '/api/v1"\npool = "day"')
    cfg = parse(text, env={})
    gw = make_gateway(cfg)
    report = asyncio.run(scan(cfg, budget=4, timeouts=Timeouts(2, 1.5, 1.5)))  # as `xx models scan` does
    store.save(tmp_path / store.FILE, report)
    openrouter_sent = sum(1 for p in report["sent"] if p["provider"] == "openrouter")
    assert openrouter_sent >= 1

    def used() -> int:
        import httpx

        rows = httpx.get(gw.url + "/xx/models", timeout=5).json()["models"]
        return next(r for r in rows if r["name"] == "kimi-free")["rpd"]["used"]

    wait_for(lambda: used() == openrouter_sent, 5, f"{openrouter_sent} probes counted in the pool")
