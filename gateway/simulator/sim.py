"""The Python API: `Simulator` for async tests, `SimulatorThread` for sync tests and SDK clients.

Both drive the same `SimState` the `/_sim/` control API does, so a test can script a fault
in-process and a subprocess can script one over HTTP with identical effect.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from gateway.simulator.cache import PrefixCache
from gateway.simulator.server import build_app
from gateway.simulator.state import SimState


class Simulator:
    """A simulated provider on a loopback port.

    `cache_min_tokens`/`cache_ttl`/`cache_step` shape the prefix cache; `clock` is what its
    TTLs are measured on (pass a `ManualClock` to expire entries without waiting);
    `usage_always` makes chat streams end with a usage chunk as OpenRouter's do.
    """

    def __init__(
        self,
        *,
        cache_min_tokens: int = 1024,
        cache_ttl: float = 300.0,
        cache_step: int = 128,
        clock: Callable[[], float] = time.monotonic,
        usage_always: bool = False,
    ) -> None:
        cache = PrefixCache(min_tokens=cache_min_tokens, ttl=cache_ttl, step=cache_step, clock=clock)
        self.state = SimState(cache, usage_always=usage_always)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (no `/v1`): Anthropic clients take it as is, OpenAI ones add `/v1`."""
        if self._url is None:
            raise RuntimeError("the simulator is not started")
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            return self.url
        runner = web.AppRunner(
            build_app(self.state), access_log=None, handle_signals=False, handler_cancellation=True, shutdown_timeout=0.5
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        self._url = f"http://{shown}:{bound[1]}"
        return self._url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- scripting (thread-safe) ----------------------------------------------------------

    def fault(self, model: str, *faults: Mapping[str, Any], **fields: Any) -> int:
        """Queue one-shot faults: `fault("m", status=429, retry_after=2)` or `fault("m", {...}, {...})`.

        Returns the queue length. Use model "*" for every model.
        """
        specs = [*faults, *([fields] if fields else [])]
        return self.state.add_faults(model, specs)

    def always(self, model: str, fault: Mapping[str, Any] | None = None, **fields: Any) -> None:
        """A fault on every request of `model` until `always(model, None)`."""
        spec = fault if fault is not None else (fields or None)
        self.state.set_always(model, spec)

    def fail_rate(self, model: str, rate: float, seed: int | None = None, fault: Mapping[str, Any] | None = None) -> None:
        self.state.set_fail_rate(model, rate, seed, fault)

    def script(self, model: str, *responses: str | Mapping[str, Any]) -> int:
        """Queue scripted answers: `"text"`, `{"text": ...}` or `{"tool": {"name", "arguments"}}`."""
        return self.state.add_script(model, list(responses))

    def calls(self, model: str | None = None) -> int:
        return self.state.calls(model)

    def requests(self, model: str | None = None) -> list[dict[str, Any]]:
        return self.state.requests(model)

    def cache_stats(self) -> dict[str, Any]:
        return self.state.cache_stats()

    def reset(self) -> None:
        self.state.reset()


class SimulatorThread:
    """A `Simulator` serving from its own event loop in a daemon thread.

    For sync tests and SDK clients: `with SimulatorThread() as sim: Anthropic(base_url=sim.url)`.
    Scripting calls go straight to the shared state (it is locked), so they take effect at once.
    """

    def __init__(self, **options: Any) -> None:
        self.sim = Simulator(**options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._host = "127.0.0.1"
        self._port = 0

    @property
    def url(self) -> str:
        return self.sim.url

    @property
    def state(self) -> Any:
        return self.sim.state

    def start(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0) -> str:
        if self._thread is not None:
            return self.url
        self._host, self._port = host, port
        self._thread = threading.Thread(target=self._run, name="xx-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the simulator did not start in time")
        if self._error is not None:
            raise RuntimeError(f"the simulator failed to start: {self._error}") from self._error
        return self.url

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            await self.sim.start(self._host, self._port)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await self.sim.stop()

    def stop(self, timeout: float = 10.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        thread.join(timeout)
        self._ready.clear()

    def __enter__(self) -> SimulatorThread:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- the same scripting API as Simulator ----------------------------------------------

    def fault(self, model: str, *faults: Mapping[str, Any], **fields: Any) -> int:
        return self.sim.fault(model, *faults, **fields)

    def always(self, model: str, fault: Mapping[str, Any] | None = None, **fields: Any) -> None:
        self.sim.always(model, fault, **fields)

    def fail_rate(self, model: str, rate: float, seed: int | None = None, fault: Mapping[str, Any] | None = None) -> None:
        self.sim.fail_rate(model, rate, seed, fault)

    def script(self, model: str, *responses: str | Mapping[str, Any]) -> int:
        return self.sim.script(model, *responses)

    def calls(self, model: str | None = None) -> int:
        return self.sim.calls(model)

    def requests(self, model: str | None = None) -> list[dict[str, Any]]:
        return self.sim.requests(model)

    def cache_stats(self) -> dict[str, Any]:
        return self.sim.cache_stats()

    def reset(self) -> None:
        self.sim.reset()
