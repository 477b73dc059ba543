"""Wire capture: both sides of each exchange as JSONL, secrets scrubbed, bounded, and `xx capture`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anthropic
import openai
from support.servers import config_for, free_port

from gateway.accounting import capture
from gateway.accounting.capture import Capture, read_records, scrub_headers, scrub_text

SECRET = "sk-ant-api03-" + "Q" * 40


def test_scrub() -> None:
    assert SECRET not in scrub_text(f"key {SECRET} end")
    assert "hunter2-configured" not in scrub_text("x hunter2-configured y", ["hunter2-configured"])
    assert scrub_text("Authorization: Bearer abcdefghijklmnop") == "Authorization: Bearer ***"
    h = scrub_headers({"Authorization": "Bearer x", "x-api-key": "k", "content-type": "application/json"})
    assert h == {"Authorization": "***", "x-api-key": "***", "content-type": "application/json"}


def test_rotation_and_part_limit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(capture, "PART_LIMIT", 100)
    cap = Capture(tmp_path, enabled=True, max_mb=0.001)  # ~1 KB per file
    for i in range(30):
        rec = cap.begin(f"id{i:02d}", agent="a")
        assert rec is not None
        rec.request({}, b"x" * 500)
        rec.finish(200, "ok")
    files = sorted(p.name for p in (tmp_path / "capture").iterdir())
    assert files == ["capture.jsonl", "capture.jsonl.1"]
    assert all(p.stat().st_size < 2048 for p in (tmp_path / "capture").iterdir())
    records = list(read_records(tmp_path))
    assert records[-1]["id"] == "id29" and records[-1]["client_request"] == {"bytes": 500, "truncated": True,
                                                                            "text": "x" * 100}


def test_off_by_default_and_flag_file(tmp_path: Path) -> None:
    now = [0.0]
    cap = Capture(tmp_path, clock=lambda: now[0])
    assert cap.begin("a") is None
    capture.flag_file(tmp_path).parent.mkdir(parents=True)
    capture.flag_file(tmp_path).touch()
    assert cap.begin("b") is None  # checked at most once a second
    now[0] = 1.5
    assert cap.begin("c") is not None


def test_gateway_captures_both_sides(simulator_thread, make_gateway, tmp_path: Path) -> None:
    cfg = config_for(simulator_thread.url, free_port(), "\n[capture]\nenabled = true\n")
    gw = make_gateway(cfg, ledger=tmp_path / "state" / "ledger.sqlite3")
    client = anthropic.Anthropic(base_url=f"{gw.url}/x/claude/p/f", api_key=SECRET, max_retries=0)
    with client.messages.stream(model="m", max_tokens=50, messages=[{"role": "user", "content": "hello capture"}]) as s:
        text = s.get_final_text()
    chat = openai.OpenAI(base_url=f"{gw.url}/x/qwen/p/f/v1", api_key=SECRET, max_retries=0)
    chat.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello json"}])
    gw.rows(at_least=2)
    records = list(read_records(tmp_path / "state"))
    assert len(records) == 2
    streamed, whole = records
    assert "hello capture" in streamed["client_request"]["text"]
    assert streamed["upstream"][0]["model"] == "sim-kimi" and "hello capture" in streamed["upstream"][0]["request"]["text"]
    assert "chat.completion.chunk" in streamed["upstream"][0]["response"]["text"]  # the upstream's own dialect
    assert "message_stop" in streamed["client_response"]["text"] and text[:20] in streamed["client_response"]["text"]
    assert whole["upstream"][0]["status"] == 200 and "hello json" in whole["client_response"]["text"]
    everything = json.dumps(records)
    assert SECRET not in everything
    creds = {k.lower(): v for k, v in streamed["client_headers"].items() if k.lower() in ("x-api-key", "authorization")}
    assert creds and set(creds.values()) == {"***"}


def test_cli(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XX_CONFIG": str(tmp_path / "none.toml")}

    def xx(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "xx", "capture", *args], env=env, capture_output=True, text=True,
                              timeout=60)

    on = xx("on", "--json")
    assert on.returncode == 0 and json.loads(on.stdout)["on"] is True
    state = Path(json.loads(on.stdout)["file"]).parent.parent
    cap = Capture(state)
    rec = cap.begin("0123abcd", agent="claude", dialect="anthropic")
    assert rec is not None
    rec.request({}, b'{"messages": []}')
    rec.finish(200, "ok")
    tail = xx("tail", "--json")
    assert tail.returncode == 0 and json.loads(tail.stdout.splitlines()[-1])["id"] == "0123abcd"
    show = xx("show", "0123")
    assert show.returncode == 0 and json.loads(show.stdout)["client_request"]["text"] == '{"messages": []}'
    assert xx("show", "nope").returncode == 1
    off = xx("off")
    assert off.returncode == 0 and "capture is off" in off.stdout
    assert xx("--help").returncode == 0


def test_a_refused_attempt_is_captured_too(simulator_thread, make_gateway, tmp_path: Path) -> None:
    cfg = config_for(simulator_thread.url, free_port(), "\n[capture]\nenabled = true\n")
    gw = make_gateway(cfg, ledger=tmp_path / "state" / "ledger.sqlite3")
    simulator_thread.fault("sim/kimi-k2.6:free", status=429, message="slow down please")
    chat = openai.OpenAI(base_url=f"{gw.url}/x/qwen/p/f/v1", api_key="xx-local", max_retries=0)
    chat.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
    gw.rows(at_least=1)
    (rec,) = list(read_records(tmp_path / "state"))
    first, second = rec["upstream"]
    assert first["model"] == "sim-kimi" and first["status"] == 429 and "slow down please" in first["response"]["text"]
    assert second["model"] == "sim-nemotron" and second["status"] == 200
