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
