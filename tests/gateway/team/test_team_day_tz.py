"""Team mode honours a pool's `day_tz`: the daily count resets at the provider's midnight, not UTC's.

Gemini's free day starts at midnight Pacific. The embedded Quotas counted it so; the Redis store
was handed no offset and reset at 00:00 UTC, 7 or 8 hours early, every day.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from support.dbservers import RedisServer
from support.servers import GatewayThread, free_port
from support.team_cluster import chat, team_config_text

from gateway.config import parse
from gateway.routing.quotas import day_bounds

TZ = "America/Los_Angeles"


def test_pool_day_resets_at_its_day_tz_midnight_in_team_mode(simulator_thread, redis_server: RedisServer,
                                                             tmp_path: Path) -> None:
    text = team_config_text(simulator_thread.url, free_port(), state_url=redis_server.url, ledger_url=None, rpm=1000)
    text = text.replace("[pools.team]\nrpm = 1000\n", f'[pools.team]\nrpm = 1000\nrpd = 1\nday_tz = "{TZ}"\n')
    assert "day_tz" in text
    cfg = parse(text, source="<team-test>", env={})
    one = GatewayThread(cfg, tmp_path / "one.sqlite3").start()
    # The second instance's own (embedded) count is 0: only the shared day in Redis can refuse it.
    two = GatewayThread(parse(text.replace(f"port = {cfg.gateway.port}", f"port = {free_port()}"), source="<t>", env={}),
                        tmp_path / "two.sqlite3").start()
    try:
        with httpx.Client(timeout=10) as c:
            assert chat(c, one.url, "the day's one").status_code == 200
            over = chat(c, two.url, "one too many, on another instance")
        now = time.time()
    finally:
        one.stop()
        two.stop()
    assert over.status_code == 429, over.text
    wait = int(over.headers["retry-after"])
    pacific = day_bounds(now, TZ)[1] - now
    utc = day_bounds(now, "UTC")[1] - now
    assert abs(wait - pacific) <= 5, f"retry-after {wait} s: Pacific midnight is in {pacific:.0f} s, UTC's in {utc:.0f} s"
