"""A simulated LLM provider: Anthropic Messages, OpenAI Chat and Responses over real HTTP.

It backs `xx demo` (no API key), the gateway's tests and the benchmarks. Deterministic
answers, a faithful prefix cache, and scriptable faults (429, 5xx, resets, stalls, slow or
malformed streams) per model. Exports are lazy so `gateway.simulator.config` stays light.

    async with Simulator() as sim: ...               # in-process, async tests
    with SimulatorThread() as sim: ...               # sync tests, SDK clients
    python -m gateway.simulator --port 0             # a subprocess; prints its URL
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.simulator.cache import ManualClock as ManualClock
    from gateway.simulator.sim import Simulator as Simulator
    from gateway.simulator.sim import SimulatorThread as SimulatorThread

__all__ = ["ManualClock", "Simulator", "SimulatorThread"]


def __getattr__(name: str) -> Any:
    if name in ("Simulator", "SimulatorThread"):
        from gateway.simulator import sim

        return getattr(sim, name)
    if name == "ManualClock":
        from gateway.simulator.cache import ManualClock

        return ManualClock
    raise AttributeError(name)
