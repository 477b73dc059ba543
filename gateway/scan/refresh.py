"""The gateway's side of the scan: pick up a new result, and refresh a stale one in the background.

`ScanKeeper.tick` runs on the runtime's one-second background loop. It rebuilds the routing
view when the stored file changed (`xx models scan` wrote it) and starts a background re-scan
when the stored one is older than `[scan] max_age_h` — at most once per that period, whether
the last try succeeded or not, and only once a first scan exists (a scan spends quota: the
first one is the user's decision, `xx models scan`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.config import Config, Model
from gateway.scan import store
from gateway.scan.view import ScanView, build

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = logging.getLogger("xx.scan")


def due(result: dict[str, Any] | None, last_try: float | None, config: Config, now: float) -> bool:
    """Pure: is a background re-scan due now?"""
    if result is None or not any(t.rank == "scan" for t in config.tiers.values()):
        return False
    period_h = config.scan.max_age_h
    age = store.age_h(result, now)
    if age is None or age < period_h:
        return False
    return last_try is None or (now - last_try) / 3600.0 >= period_h


def count_probes(quotas: Any, result: dict[str, Any] | None, config: Config, view: ScanView, now: float) -> int:
    """Record another process's probes from today in this gateway's quota windows; how many."""
    if not result or not isinstance(result.get("sent"), list):
        return 0
    by_id = {(m.provider, m.id): m for m in config.models.values()}
    n = 0
    for p in result["sent"]:
        if not isinstance(p, dict) or not isinstance(p.get("at"), int | float) or now - p["at"] > 86400:
            continue
        provider, mid = str(p.get("provider")), str(p.get("id"))
        model = by_id.get((provider, mid)) or view.models.get(mid) or Model(name=mid, provider=provider, id=mid)
        if model.provider in config.providers:
            quotas.record(model, 0, at=float(p["at"]))
            n += 1
    return n


class ScanKeeper:
    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self.result: dict[str, Any] | None = None
        self._mtime: float | None = None
        self._last_try: float | None = None
        self.task: asyncio.Task[Any] | None = None

    def view(self, config: Config) -> ScanView:
        """Read the stored result (again) and build the routing view for `config`."""
        self._mtime = store.mtime(self.path)
        self.result = store.load(self.path)
        return build(self.result, config)

    def tick(self, rt: Runtime) -> None:
        if store.mtime(self.path) != self._mtime:  # `xx models scan` wrote it: its probes spent our quotas too
            rt.routing.scan = self.view(rt.config)
            count_probes(rt.routing.quotas, self.result, rt.config, rt.routing.scan, self.clock())
        if self.task is None and due(self.result, self._last_try, rt.config, self.clock()):
            from gateway.tasks import spawn

            self._last_try = self.clock()
            self.task = spawn(self._refresh(rt), name="xx-scan")

    async def _refresh(self, rt: Runtime) -> None:
        from gateway.scan.run import scan

        try:
            report = await scan(rt.config, budget=rt.config.scan.budget, session=rt.client, quotas=rt.routing.quotas,
                                ledger=rt.ledger, now=self.clock)
            store.keep(self.path, report)  # an empty one (nothing reachable) keeps the last result
            rt.routing.scan = self.view(rt.config)
            log.info("background model scan: %d usable of %d, %d probes", len(rt.routing.scan.ranked),
                     len(report.get("models", [])), report.get("spent", 0))
        except Exception:  # a failed refresh keeps the last result; the next try is a period away
            log.exception("background model scan failed")
        finally:
            self.task = None
