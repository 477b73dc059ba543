"""What one instance sees of the team: other instances' traffic in its stats, conversations kept on their model."""

from __future__ import annotations

from pathlib import Path

import httpx
from support.dbservers import RedisServer
from support.servers import wait_for
from support.team_cluster import Cluster


def _team_requests(url: str) -> int:
    return int(httpx.get(url + "/xx/stats", timeout=2).json()["cache"]["requests"])


def test_stats_on_one_instance_count_the_whole_team(simulator_thread, redis_server: RedisServer, pg_url: str,
                                                    tmp_path: Path) -> None:
    cluster = Cluster(simulator_thread.url, 2, tmp_path, state_url=redis_server.url, ledger_url=pg_url, rpm=1000)
    a, b = cluster.urls
    try:
        with httpx.Client(timeout=10) as c:
            for i in range(3):
                r = c.post(a + "/x/team/p/f/v1/chat/completions",
                           json={"model": "m", "messages": [{"role": "user", "content": f"on a {i}"}]})
                assert r.status_code == 200
        wait_for(lambda: _team_requests(b) >= 3, 5.0, "instance b's stats to count a's requests")
        assert _team_requests(a) == 3  # a counts its own once, not again from the feed
    finally:
        cluster.stop()


def test_a_conversation_stays_on_its_model_across_instances(simulator_thread, redis_server: RedisServer,
                                                            tmp_path: Path) -> None:
    cluster = Cluster(simulator_thread.url, 2, tmp_path, state_url=redis_server.url, ledger_url=None, rpm=1000)
    a, b = cluster.urls
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    headers = {"x-xx-session": "conversation-1"}
    try:
        simulator_thread.fault("team-m1", {"kind": "status", "status": 500})  # once: a's turn lands on m2
        with httpx.Client(timeout=10) as c:
            r = c.post(a + "/x/team/p/f/v1/chat/completions", json=body, headers=headers)
            assert r.status_code == 200
            m1_before = simulator_thread.calls("team-m1")
            m2_before = simulator_thread.calls("team-m2")
            # the next turn comes seconds later in real use; here, wait for the notice (milliseconds)
            wait_for(lambda: len(cluster.instances[1].rt.routing.affinity) > 0, 2.0, "b to hear of the conversation")

            def next_turn_on_b_uses_m2() -> bool:
                r = c.post(b + "/x/team/p/f/v1/chat/completions", json=body, headers=headers)
                return r.status_code == 200 and simulator_thread.calls("team-m2") > m2_before

            assert next_turn_on_b_uses_m2(), "instance b did not keep the conversation on m2"
            assert simulator_thread.calls("team-m1") == m1_before
    finally:
        cluster.stop()


def test_a_reload_on_one_instance_reloads_the_others(simulator_thread, redis_server: RedisServer,
                                                     tmp_path: Path) -> None:
    """b's file changes behind its back (mtime kept), so only a's notice can make b reload it."""
    import os

    from support.servers import GatewayThread, free_port
    from support.team_cluster import team_config_text

    from gateway.config import parse

    gws = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.toml"
        path.write_text(team_config_text(simulator_thread.url, free_port(), state_url=redis_server.url,
                                         ledger_url=None, failures=3))
        gws.append(GatewayThread(parse(path.read_text(), source=str(path), env={}), tmp_path / f"{name}.sqlite3").start())
    a, b = gws
    try:
        wait_for(lambda: b.rt.team.store.live_instances >= 2, 4.0, "b to see both instances (its listener is up)")
        b_path = tmp_path / "b.toml"
        st = b_path.stat()
        b_path.write_text(b_path.read_text().replace("failures = 3", "failures = 15"))  # new size: no parse cache hit
        os.utime(b_path, ns=(st.st_atime_ns, st.st_mtime_ns))
        a_path = tmp_path / "a.toml"
        a_path.write_text(a_path.read_text().replace("failures = 3", "failures = 4"))
        os.utime(a_path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        wait_for(lambda: a.rt.config.breaker.failures == 4, 5.0, "a to reload its own file")
        wait_for(lambda: b.rt.config.breaker.failures == 15, 3.0, "b to reload on a's notice")
    finally:
        for gw in gws:
            gw.stop()
