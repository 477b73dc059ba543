"""The scoring table: pure inputs, the order a person would pick, the reasons a model is unusable."""

from __future__ import annotations

import itertools

import pytest

from gateway.scan.score import WEIGHTS, History, history, score

FREE = {"context": 131072, "free": True, "uptime": 99.0, "latency_s": 0.8, "throughput": 60.0, "caching": False}
GOOD = {"ok": True, "ttft_ms": 600.0, "tokens_per_s": 60.0}


def hist(attempts: int, ok: int, ttfb: float = 500.0, served: int | None = None, repaired: int = 0) -> History:
    served = ok if served is None else served
    return History(attempts, ok, [ttfb] * served, [50.0] * served, served, repaired)


# (name, catalog, probe, history, headroom) — listed best first: each row must outscore the next.
RANKED = [
    ("fast, cached, large, free", {**FREE, "context": 1_048_576, "caching": True, "latency_s": 0.2, "throughput": 150.0}, GOOD, None, None),
    ("good free", FREE, GOOD, None, None),
    ("good free, some quota spent", FREE, GOOD, None, 0.6),
    ("good free, slow", {**FREE, "latency_s": 4.0, "throughput": 8.0}, GOOD, None, None),
    ("paid, same speed", {**FREE, "free": False, "price": {"input": 3.0, "output": 15.0}, "latency_s": 4.0, "throughput": 8.0}, GOOD, None, None),
    ("probe ok, but real traffic fails half the time", FREE, GOOD, hist(40, 20), None),
    ("probe ok, answers often need repair", FREE, GOOD, hist(40, 20, repaired=15), None),
]  # fmt: skip


def test_the_table_ranks_as_a_person_would() -> None:
    scores = [(name, score(cat, probe, h, room)) for name, cat, probe, h, room in RANKED]
    for (a, va), (b, vb) in itertools.pairwise(scores):
        assert va.usable and vb.usable
        assert va.score > vb.score, f"{a} ({va.score}) should beat {b} ({vb.score}): {va.parts} vs {vb.parts}"
    assert all(0.0 < v.score <= 1.0 for _, v in scores)


@pytest.mark.parametrize(("probe", "h", "reason"), [
    ({"ok": False, "reason": "tool arguments are not valid JSON (Expecting ',' delimiter): '{\"path\"'"}, None, "not valid JSON"),
    ({"ok": False, "reason": "timed out after 60s"}, hist(100, 100), "timed out"),
    ({"ok": False, "reason": "answered without calling the tool"}, None, "without calling"),
    ({"ok": False}, None, "the probe failed"),
    (None, hist(2, 2), "not probed"),
])  # fmt: skip
def test_unusable_models_score_zero_with_the_reason(probe, h, reason: str) -> None:
    v = score(FREE, probe, h)
    assert not v.usable and v.score == 0.0 and reason in (v.reason or "")


def test_one_unlucky_probe_does_not_outweigh_the_providers_p50_and_our_history_beats_both() -> None:
    unlucky = score(FREE, {**GOOD, "ttft_ms": 5000.0, "tokens_per_s": 2.0})
    assert unlucky.parts["speed"] == score(FREE, GOOD).parts["speed"]
    assert score({"context": 131072, "free": True}, {**GOOD, "ttft_ms": 5000.0}).parts["speed"] < 0.5  # no p50: the probe
    fast_here = score(FREE, GOOD, hist(30, 30, ttfb=100.0))
    assert fast_here.parts["speed"] > score(FREE, GOOD).parts["speed"]


def test_enough_history_stands_in_for_a_probe_and_no_quota_halves_the_score() -> None:
    v = score(FREE, None, hist(30, 30))
    assert v.usable and v.parts["reliability"] > 0.98
    full, empty = score(FREE, GOOD, None, 1.0), score(FREE, GOOD, None, 0.0)
    assert empty.score == pytest.approx((full.score - WEIGHTS["quota"]) / 2, abs=1e-3)


def test_weights_sum_to_one_and_a_perfect_model_scores_one() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    perfect = {"context": 1_048_576, "free": True, "uptime": 100.0, "caching": True}
    v = score(perfect, {"ok": True, "ttft_ms": 0.0, "tokens_per_s": 500.0})
    assert v.score == pytest.approx(1.0)


def test_history_from_ledger_rows() -> None:
    rows = [
        {"model": "a", "outcome": "ok", "ttfb_ms": 300.0, "first_byte": 10.0, "ended": 12.0, "usage": {"output": 100},
         "attempts": [{"model": "b", "outcome": "error"}, {"model": "a", "outcome": "ok"}], "repairs": 1},
        {"model": None, "outcome": "error", "attempts": [{"model": "a", "outcome": "error"},
                                                          {"model": "c", "outcome": "error", "reached": False}]},
    ]  # fmt: skip
    h = history(rows)
    assert (h["a"].attempts, h["a"].ok, h["a"].served, h["a"].repaired) == (2, 1, 1, 1)
    assert h["a"].tokens_per_s == [50.0] and h["b"].success_rate == 0.0 and "c" not in h
