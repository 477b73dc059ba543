"""Server-level properties: light imports, throughput for the benchmarks, clean stop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import aiohttp
import pytest

from gateway.simulator import Simulator


def test_config_module_does_not_import_aiohttp() -> None:
    code = "import sys, gateway.simulator.config; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


async def test_stop_does_not_wait_for_a_stalled_request() -> None:
    sim = Simulator()
    await sim.start()
    sim.always("m", kind="stall", seconds=30)
    async with aiohttp.ClientSession() as s:
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        req = asyncio.ensure_future(s.post(sim.url + "/v1/chat/completions", json=body))
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        await sim.stop()
        assert time.monotonic() - t0 < 3
        with pytest.raises(aiohttp.ClientError):
            await req


@pytest.mark.slow
def test_serves_thousands_of_concurrent_requests_without_a_failure() -> None:
    """Every answer is a 200. The rate floor is a sanity bound, far under what it does here (~2,000/s idle): a
    loaded CI machine must not fail it; the load tests that lean on the simulator need a few hundred per second."""
    proc = subprocess.Popen([sys.executable, "-m", "gateway.simulator"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip() + "/v1/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "hello world"}]}

        async def load(n: int = 3000, conc: int = 16) -> float:
            async with aiohttp.ClientSession() as s:

                async def worker() -> None:
                    for _ in range(n // conc):
                        async with s.post(url, json=body) as r:
                            await r.read()
                            assert r.status == 200, r.status

                t0 = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(conc)))
                return n / (time.perf_counter() - t0)

        rate = asyncio.run(load())
        assert rate > 300, f"{rate:.0f} req/s"
    finally:
        proc.terminate()
        proc.wait(10)
