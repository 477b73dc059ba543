from __future__ import annotations

from xx.dash.state import REQUESTS_MAX, DashState, Event, apply, merge_requests, reduce


def ex(i: int, t: float = 1000.0) -> dict:
    return {"id": f"x{i}", "started": t + i, "ended": t + i + 1, "agent": "claude"}


def test_exchange_goes_first_and_input_is_untouched() -> None:
    s0 = DashState(url="u")
    s1 = reduce(s0, Event("exchange", ex(1), 5.0))
    s2 = reduce(s1, Event("exchange", ex(2), 6.0))
    assert [r["id"] for r in s2.requests] == ["x2", "x1"]
    assert [r["id"] for r in s1.requests] == ["x1"]
    assert len(s0.requests) == 0
    assert s2.last_event_at == 6.0 and s2.events_applied == 2


def test_duplicate_exchange_is_ignored() -> None:
    s = apply(DashState(), [Event("exchange", ex(1)), Event("exchange", ex(1))])
    assert len(s.requests) == 1


def test_ring_is_bounded_and_evicted_ids_can_return() -> None:
    s = apply(DashState(), [Event("exchange", ex(i)) for i in range(REQUESTS_MAX + 50)])
    assert len(s.requests) == REQUESTS_MAX
    assert s.requests[0]["id"] == f"x{REQUESTS_MAX + 49}"
    assert s.requests[-1]["id"] == "x50"
    s = reduce(s, Event("exchange", ex(0, t=9000.0)))  # x0 was evicted: it is new again
    assert s.requests[0]["id"] == "x0"
    older = reduce(s, Event("exchange", ex(1, t=0.0)))  # finished before everything kept: not kept
    assert older.requests is s.requests or list(older.requests) == list(s.requests)


def test_ring_is_ordered_by_finish_time_whatever_the_arrival_order() -> None:
    late = {"id": "slow", "started": 1000.0, "ended": 1008.0}
    s = apply(DashState(), [Event("exchange", ex(10)), Event("exchange", ex(5)), Event("exchange", late)])
    assert [r["id"] for r in s.requests] == ["x10", "slow", "x5"]  # ended 1011, 1008, 1006


def test_model_event_replaces_one_row_only() -> None:
    s = reduce(
        DashState(),
        Event("models", {"models": [{"name": "a", "state": "healthy"}, {"name": "b", "state": "healthy"}]}),
    )
    s2 = reduce(s, Event("model", {"name": "a", "state": "cooling", "until": 50}))
    assert s2.models["a"]["state"] == "cooling"
    assert s2.models["b"]["state"] == "healthy"
    assert s.models["a"]["state"] == "healthy"


def test_reset_answer_updates_the_row() -> None:
    s = reduce(DashState(), Event("models", {"models": [{"name": "a", "state": "open"}]}))
    s = reduce(s, Event("reset", {"ok": True, "model": {"name": "a", "state": "healthy"}}))
    assert s.models["a"]["state"] == "healthy"


def test_down_then_up() -> None:
    s = reduce(DashState(conn="up"), Event("down", {"reason": "connection refused", "retry_at": 12.0}, 10.0))
    assert (s.conn, s.down_reason, s.down_since, s.retry_at) == ("down", "connection refused", 10.0, 12.0)
    s = reduce(s, Event("down", {"reason": "timed out", "retry_at": 20.0}, 15.0))
    assert s.down_since == 10.0 and s.retry_at == 20.0  # still the same outage
    s = reduce(s, Event("health", {"version": "1"}, 21.0))
    assert (s.conn, s.down_reason, s.down_since, s.retry_at) == ("up", None, None, None)
    assert s.health == {"version": "1"}


def test_hello_means_up() -> None:
    s = reduce(DashState(conn="down"), Event("hello", {"version": "1"}, 3.0))
    assert s.conn == "up" and s.last_event_at == 3.0


def test_backfill_merges_by_id_newest_first() -> None:
    current = [ex(5), ex(3)]
    merged = merge_requests(current, [ex(4), ex(3), ex(1)])
    assert [r["id"] for r in merged] == ["x5", "x4", "x3", "x1"]
    s = reduce(DashState(requests=merged), Event("requests", {"requests": [ex(9)]}))
    assert s.requests[0]["id"] == "x9" and len(s.requests) == 5


def test_garbage_is_ignored() -> None:
    s = apply(
        DashState(),
        [
            Event("exchange", "nope"),
            Event("model", {"state": "x"}),
            Event("models", None),
            Event("down", None),
        ],
    )
    assert len(s.requests) == 0 and s.models == {} and s.conn == "down"
