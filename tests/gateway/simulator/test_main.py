"""`python -m gateway.simulator` as a subprocess: URL on stdout, ready file, clean SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx


def test_subprocess_prints_url_writes_ready_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "sim.url"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.simulator", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert ready.read_text().strip() == url
        r = httpx.post(url + "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
        assert r.json()["choices"][0]["message"]["content"] == "SIM-ANSWER(m): x"
        httpx.post(url + "/_sim/faults", json={"model": "m", "faults": [{"kind": "reset", "after_chunks": 2}]})
        try:
            httpx.post(url + "/v1/chat/completions", json={"model": "m", "stream": True,
                                                           "messages": [{"role": "user", "content": "x y z"}]})  # fmt: skip
        except httpx.HTTPError:
            pass
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert proc.stderr.read() == ""  # no per-request logging, no tracebacks from the reset
    finally:
        if proc.poll() is None:
            proc.kill()
