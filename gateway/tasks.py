"""Background tasks that cannot be garbage-collected mid-flight.

asyncio keeps only weak references to tasks; a fire-and-forget `create_task` can vanish.
`spawn` keeps a strong reference until the task is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

_live: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _live.add(task)
    task.add_done_callback(_live.discard)
    return task
