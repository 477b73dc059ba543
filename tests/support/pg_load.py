"""Writers that keep writing while PostgreSQL restarts: the load both PG ledger modes are tested under."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from support.dbservers import PostgresServer


def write_through_a_restart(led: Any, pg_server: PostgresServer, make_ex: Callable[[int], Any],
                            pause: float = 0.0) -> tuple[list[str], float]:
    """8 writes at a time for 3 s, PostgreSQL stopped at 0.8 s and started 0.7 s later: the ids of the writes
    that returned, and the slowest write in seconds."""
    done: list[str] = []
    slowest = [0.0]

    async def load(stop_at: float) -> None:
        async def one(i: int) -> None:
            ex = make_ex(i)
            t0 = time.monotonic()
            await led.write(ex)
            slowest[0] = max(slowest[0], time.monotonic() - t0)
            done.append(ex.id)

        i = 0
        while time.monotonic() < stop_at:
            await asyncio.gather(*(one(i + k) for k in range(8)))
            if pause:
                await asyncio.sleep(pause)
            i += 8

    runner = threading.Thread(target=lambda: asyncio.run(load(time.monotonic() + 3.0)))
    runner.start()
    time.sleep(0.8)
    pg_server.stop("fast")
    time.sleep(0.7)
    pg_server.start()
    runner.join(30)
    assert not runner.is_alive(), "the writers did not finish"
    return done, slowest[0]
