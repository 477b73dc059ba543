"""The gateway's live state, created by the app factory and owned by the app.

Everything mutable lives on one `Runtime` object per app (no module globals), so two apps
in one process — as in tests — never share state.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from gateway import __version__, paths
from gateway.config import Config
from gateway.events import Broker
from gateway.exchange import Exchange
from gateway.ledger import Ledger
from gateway.stats import Stats


class Runtime:
    def __init__(self, config: Config, *, ledger_path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.started = clock()
        self.version = __version__
        self.instance = os.urandom(6).hex()
        self.ledger_path = ledger_path or paths.ledger_file()
        self.ledger: Ledger | None = None
        self.client: httpx.AsyncClient | None = None
        self.broker = Broker()
        self.stats = Stats(clock)
        self.in_flight = 0
        self.config_error: str | None = None
        self._secrets = config.secrets()

    def scrub(self, text: str) -> str:
        """Remove every configured secret from text bound for logs, ledger, events or clients."""
        for secret in self._secrets:
            if secret and secret in text:
                text = text.replace(secret, "***")
        return text

    def health(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "status": "ok",
            "service": "xx-gateway",
            "version": self.version,
            "pid": os.getpid(),
            "instance": self.instance,
            "started": self.started,
            "uptime_s": round(now - self.started, 3),
            "url": self.config.gateway.url,
            "config": self.config.source,
        }

    def snapshot(self) -> dict[str, Any]:
        """The `/xx/stats` document."""
        return {
            "version": self.version,
            "started": self.started,
            "uptime_s": round(self.clock() - self.started, 3),
            "requests": self.stats.requests(self.in_flight),
            "config": {"source": self.config.source, "error": self.config_error},
        }

    def extra_metrics(self) -> list[str]:
        return []

    async def record(self, ex: Exchange) -> None:
        """Finish an Exchange: ledger (awaited commit), stats, events."""
        if ex.ended is None:
            ex.ended = self.clock()
        if ex.error:
            ex.error = self.scrub(ex.error)
        for a in ex.attempts:
            if a.error:
                a.error = self.scrub(a.error)
        self.stats.add(ex)
        self.broker.publish("exchange", ex.to_dict())
        if self.ledger is not None:
            await self.ledger.write(ex)

    def record_nowait(self, ex: Exchange) -> None:
        """For a cancelled request: nothing may be awaited, but the row must not be lost."""
        if ex.ended is None:
            ex.ended = self.clock()
        self.stats.add(ex)
        self.broker.publish("exchange", ex.to_dict())
        if self.ledger is not None:
            self.ledger.write_nowait(ex)
