"""The launcher's two questions, as pure decisions: may it use this gateway, and can the tier serve?"""

from __future__ import annotations

from pathlib import Path

from gateway.config import identity, parse
from xx import preflight

FP = identity.fingerprint
WANT = {"config": "/home/u/.config/xx/config.toml", "config_hash": "abc", "keys": {"OR_KEY": FP("k1"), "OTHER": None}}


def health(**kw: object) -> dict[str, object]:
    base = {"config": WANT["config"], "config_hash": "abc", "keys": {"OR_KEY": FP("k1"), "OTHER": None},
            "demo": False, "in_flight": 0}
    return {**base, **kw}


def test_same_config_and_keys_attach() -> None:
    assert preflight.decide(WANT, health(), port=8082).action == "attach"
    # the gateway holding a key this shell lacks still serves this shell: no restart
    assert preflight.decide(WANT, health(keys={"OR_KEY": FP("k1"), "OTHER": FP("o")}), port=8082).action == "attach"


def test_a_key_set_or_changed_after_start_restarts_when_idle() -> None:
    d = preflight.decide(WANT, health(keys={"OR_KEY": None}), port=8082)
    assert d == ("restart", "OR_KEY was set after the gateway started", "")
    d = preflight.decide(WANT, health(keys={"OR_KEY": FP("old")}), port=8082)
    assert d.action == "restart" and "OR_KEY changed" in d.reason


def test_busy_gateway_is_refused_with_the_command_that_fixes_it() -> None:
    d = preflight.decide(WANT, health(keys={"OR_KEY": None}, in_flight=2), port=8082)
    assert d.action == "refuse" and "2 request(s) in flight" in d.reason and "xx gateway restart" in d.fix


def test_another_config_restarts_and_a_demo_is_never_touched() -> None:
    d = preflight.decide(WANT, health(config="/tmp/other.toml", config_hash="zzz"), port=8082)
    assert d.action == "restart" and "/tmp/other.toml" in d.reason
    d = preflight.decide(WANT, health(config="/s/demo/config.toml", config_hash="zzz", demo=True), port=8082)
    assert d.action == "refuse" and "xx demo" in d.reason and "gateway.port" in d.fix
    # pointing at the demo on purpose (its config) attaches
    demo_want = {**WANT, "config": "/s/demo/config.toml", "config_hash": "d"}
    assert preflight.decide(demo_want, health(config="/s/demo/config.toml", config_hash="d", demo=True),
                            port=8092).action == "attach"


def test_an_edited_config_waits_for_the_hot_reload_first() -> None:
    assert preflight.decide(WANT, health(config_hash="old"), port=8082).action == "wait"
    d = preflight.decide(WANT, health(config_hash="old"), port=8082, waited=True)
    assert d.action == "restart" and "older version" in d.reason


def test_a_gateway_that_does_not_say_who_it_is_is_restarted() -> None:
    d = preflight.decide(WANT, {"service": "xx-gateway", "pid": 1}, port=8082)
    assert d.action == "restart" and "does not say" in d.reason


CONFIG = """
[providers.or]
protocol = "openai"
base_url = "https://example.invalid/v1"
api_key = "$OR_KEY"
[providers.local]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
[models.paid]
provider = "or"
id = "vendor/paid"
[models.ollama]
provider = "local"
id = "llama"
[tiers.free]
letter = "f"
big = ["paid"]
[tiers.local]
letter = "l"
big = ["paid", "ollama"]
"""


def test_local_check_names_the_variable_and_the_fix() -> None:
    config = parse(CONFIG, env={})
    v = preflight.local_check(config, "p", "f", None)
    assert not v.ok and "OR_KEY unset" in v.reason and "export OR_KEY=" in v.fix
    assert preflight.local_check(config, "p", "local", None).ok  # ollama needs no key
    assert preflight.local_check(parse(CONFIG, env={"OR_KEY": "k"}), "p", None, None).ok  # default tier: free
    assert not preflight.local_check(config, "b", None, "vendor/paid").ok
    assert preflight.local_check(config, "b", None, "llama").ok
    v = preflight.local_check(config, "p", "zz", None)
    assert not v.ok and "unknown tier" in v.reason and "free (f)" in v.fix
    msg = preflight.message("claude", v)
    assert msg.startswith("xx: claude not started: unknown tier") and "--force" in msg


def test_from_ready_documents() -> None:
    assert preflight.from_ready({"ok": True, "warnings": ["role small: none"]}) == (True, "", "", ("role small: none",), None)
    v = preflight.from_ready({"ok": False, "reason": "every model is unavailable", "fix": "wait 30s"})
    assert not v.ok and v.fix == "wait 30s"


def test_ready_query() -> None:
    assert preflight.ready_query("claude", "p", "free", "ignored") == "/xx/ready?agent=claude&route=p&tier=free"
    assert preflight.ready_query("codex", "b", None, "a/b") == "/xx/ready?agent=codex&route=b&model=a%2Fb"


def test_expected_is_the_gateways_describe(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    from gateway.config import load

    config = load(cfg, env={"OR_KEY": "k"})
    assert preflight.expected(config, {"OR_KEY": "k"}) == identity.describe(str(cfg), {"OR_KEY": "k"})


def test_the_fix_names_the_cascades_first_variable() -> None:
    text = CONFIG.replace('big = ["paid"]', 'big = ["zpaid", "paid"]') + """
[providers.z]
protocol = "openai"
base_url = "https://example.invalid/v1"
api_key = "$Z_KEY"
[models.zpaid]
provider = "z"
id = "z"
"""
    v = preflight.local_check(parse(text, env={}), "p", "f", None)
    assert "Z_KEY or OR_KEY unset" in v.reason and v.fix.startswith("export Z_KEY=… (any one of them will do)")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_a_tier_back_within_seconds_is_waited_for_then_launched() -> None:
    clock = _Clock()
    answers = iter([preflight.Verdict(False, "every model … (back in 1s)", "wait 1s", retry_after=1.0),
                    preflight.Verdict(True)])
    shown: list[str] = []
    verdict = preflight.wait_briefly(lambda: next(answers), progress=shown.append, sleep=clock.sleep,
                                     clock=lambda: clock.now)
    assert verdict.ok and clock.slept == [1.0]
    assert shown and "waiting 1s" in shown[0]


def test_a_longer_wait_is_refused_at_once_and_the_total_wait_is_bounded() -> None:
    clock = _Clock()
    far = preflight.Verdict(False, "quota", "wait 40s", retry_after=40.0)
    assert preflight.wait_briefly(lambda: far, sleep=clock.sleep, clock=lambda: clock.now) == far
    assert clock.slept == []
    soon = preflight.Verdict(False, "cooling", "wait 2s", retry_after=2.0)  # never comes back: give up within 5 s
    assert not preflight.wait_briefly(lambda: soon, sleep=clock.sleep, clock=lambda: clock.now).ok
    assert sum(clock.slept) <= preflight.BRIEF_WAIT_S
    no_wait = preflight.Verdict(False, "no API key", "export X")
    assert preflight.wait_briefly(lambda: no_wait, sleep=clock.sleep, clock=lambda: clock.now) == no_wait


def test_from_ready_carries_the_wait_of_a_429_only() -> None:
    doc = {"ok": False, "status": 429, "reason": "r", "fix": "wait 1s", "retry_after": 1.0}
    assert preflight.from_ready(doc).retry_after == 1.0
    assert preflight.from_ready({**doc, "status": 503}).retry_after is None
