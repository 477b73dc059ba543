"""`xx dash` in a real terminal (tmux) watching a real gateway on the simulator.

Requests come from the official `anthropic` and `openai` SDKs, so the rows the dashboard
shows are the ones clients nobody here wrote produce; the screen is read with capture-pane.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.servers import free_port, wait_for

from gateway.simulator import SimulatorThread
from gateway.simulator.config import sim_config_text

pytestmark = pytest.mark.tmux

SYSTEM = "You are a careful coding agent. Keep the tests green and the diffs small.\n" * 80  # ~1.5k tokens




@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A gateway subprocess on a simulator thread; yields (URL, the env it runs with)."""
    with SimulatorThread() as sim:
        port = free_port()
        config = tmp_path / "config.toml"
        config.write_text(sim_config_text(sim.url, port=port))
        env = dict(os.environ, XX_CONFIG=str(config), NO_COLOR="1")
        for name in ("STATE", "CONFIG", "CACHE"):
            env[f"XDG_{name}_HOME"] = str(tmp_path / name.lower())
        log = (tmp_path / "gateway.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:

            def up() -> bool:
                try:
                    return httpx.get(url + "/health", timeout=0.5, trust_env=False).status_code == 200
                except httpx.HTTPError:
                    return proc.poll() is not None and pytest.fail((tmp_path / "gateway.log").read_text())

            wait_for(up, 15, "the gateway")
            yield url, env
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


@pytest.fixture
def tmux() -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sock = f"xx-dash-test-{os.getpid()}-{time.monotonic_ns()}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=10)

    try:
        yield run
    finally:
        run("kill-server")


def test_dash_shows_sdk_requests_live(
    gateway: tuple[str, dict[str, str]],
    tmux: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import anthropic
    import openai

    url, env = gateway
    for name in ("NO_PROXY", "no_proxy"):  # the SDKs honor proxy variables; loopback must not go through one
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    exports = " ".join(
        f"{k}={v}" for k, v in env.items() if k.startswith("XDG_") or k in ("XX_CONFIG", "NO_COLOR")
    )
    done = tmp_path / "exit-code"
    cmd = f"env -u COLUMNS -u LINES {exports} {sys.executable} -m xx dash --url {url} --poll 0.5; echo $? > {done}; sleep 60"
    r = tmux("new-session", "-d", "-s", "dash", "-x", "120", "-y", "36", cmd)
    assert r.returncode == 0, r.stderr

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "dash").stdout

    wait_for(
        lambda: "● up" in screen() and "sim-kimi" in screen() and screen(), 10, "the dashboard to connect"
    )

    claude = anthropic.Anthropic(base_url=f"{url}/x/claude/p/c", api_key="test", max_retries=0)
    system: Any = [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
    for turn in ("Add a test for the parser.", "Now make it pass."):
        reply = claude.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=200,
            system=system,
            messages=[{"role": "user", "content": turn}],
        )
        assert reply.model == "claude-sim-sonnet"
    assert reply.usage.cache_read_input_tokens and reply.usage.cache_read_input_tokens > 1024

    codex = openai.OpenAI(base_url=f"{url}/x/codex/p/gpt/v1", api_key="test", max_retries=0)
    resp = codex.responses.create(model="gpt-5-codex", instructions=SYSTEM, input="Rename the module.")
    assert resp.output_text
    qwen = openai.OpenAI(base_url=f"{url}/x/qwen/p/free/v1", api_key="test", max_retries=0)
    stream = qwen.chat.completions.create(
        model="qwen3-coder-plus", stream=True, messages=[{"role": "system", "content": SYSTEM},
                                                         {"role": "user", "content": "Explain the router."}],
    )  # fmt: skip
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    def rows_and_figures() -> str | None:
        text = screen()
        rows = [line for line in text.splitlines() if re.search(r"\d\d:\d\d:\d\d\s+\w+", line)]
        agents = {a for a in ("claude", "codex", "qwen") if any(a in row for row in rows)}
        served = all(m in text for m in ("sim-claude", "sim-gpt", "sim-kimi"))
        hit_row = any("claude" in row and "HIT" in row for row in rows)
        hit_count = re.search(r"HIT [1-9]", text)  # the cache panel's figure, from /xx/stats
        return text if len(agents) == 3 and served and hit_row and hit_count else None

    text = wait_for(rows_and_figures, 10, "the SDK requests and cache figures on screen")
    assert "claude-sonnet-4-6 → sim-claude" in text
    assert "gpt-5-codex → sim-gpt" in text
    tmux("send-keys", "-t", "dash", "q")
    wait_for(lambda: done.exists() and done.read_text().strip(), 10, "xx dash to quit on q")
    assert done.read_text().strip() == "0"
