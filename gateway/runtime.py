"""The gateway's live state, created by the app factory and owned by the app.

Everything mutable lives on one `Runtime` object per app (no module globals), so two apps
in one process — as in tests — never share state.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from gateway import __version__, logs, scrubbing
from gateway.accounting import classify as cache
from gateway.accounting.aggregate import Stats
from gateway.accounting.capture import Capture
from gateway.accounting.events import Broker
from gateway.accounting.ledger import Ledger
from gateway.accounting.tokens import current as team_token
from gateway.attempt import Hooks
from gateway.caching.coalesce import Coalescer
from gateway.caching.replay import ReplayCache
from gateway.config import Config, ConfigError, Price, load, paths
from gateway.exchange import Exchange
from gateway.guards.hooks import Guards
from gateway.routing.affinity import Affinity
from gateway.routing.attempt_hooks import Governor
from gateway.routing.health import Health
from gateway.routing.plan import RoutingState
from gateway.routing.quotas import Quotas
from gateway.scan import store as scan_store
from gateway.scan.refresh import ScanKeeper
from gateway.scrubbing import maskable

log = logging.getLogger("xx.gateway")


class Runtime:
    def __init__(self, config: Config, *, ledger_path: Path | None = None, clock: Callable[[], float] = time.time,
                 replay_path: Path | None = None) -> None:
        self.config = config
        self.clock = clock
        self.started = clock()
        self.version = __version__
        self.instance = os.urandom(6).hex()
        self.ledger_path = ledger_path or paths.ledger_file()
        self.replay_path = replay_path or (self.ledger_path.parent / "replay.sqlite3" if ledger_path else None)
        self.ledger: Ledger | None = None
        self.replay: ReplayCache | None = None
        self.coalescer = Coalescer()
        self.client: aiohttp.ClientSession | None = None
        self.broker = Broker()
        self.stats = Stats(clock)
        self.aggregate = cache.Aggregate(clock=clock)
        self.routing = RoutingState(
            health=Health(config.breaker, clock, on_change=self._model_changed),
            quotas=Quotas(config, clock),
            affinity=Affinity(clock=clock),
            clock=clock,
        )
        self.scan = ScanKeeper(self.ledger_path.parent / scan_store.FILE, clock)  # gateway.scan: m/f ranking, windows
        self.routing.scan = self.scan.view(config)
        self.in_flight = 0
        self.hooks = Hooks()  # before_send / on_response / on_finish of every upstream attempt
        self.model_view: Callable[[str], dict[str, Any]] | None = None  # routes/views.model_row, set by the app
        self.guards = Guards(lambda: self.config, clock)  # in-chat commands, tool-call repair/danger, loops
        self.capture = Capture(self.ledger_path.parent, enabled=config.capture.enabled, max_mb=config.capture.max_mb,
                               secrets=lambda: self._secrets).install(self.hooks)  # wire capture (xx capture)
        self.governor = Governor(self).install()  # keys, pool slots, rate-limit headers (gateway.routing.attempt_hooks)
        self.team: Any = None  # [state] url: quotas, breakers, probe lease, affinity shared in Redis
        if config.state.url:
            from gateway.routing.team import Team

            self.team = Team(self).install()
        self.config_error: str | None = None
        self._config_mtime = self._mtime()
        self._set_secrets(config)

    # -- secrets -------------------------------------------------------------------------
    def _set_secrets(self, config: Config) -> None:
        self._secrets = maskable(config.secrets())  # too-short values can't be told from text
        self._secret_bytes = [s.encode() for s in self._secrets]

    def scrub(self, text: str) -> str:
        """Remove every configured secret from text bound for logs, ledger, events or clients."""
        return scrubbing.scrub_text(text, self._secrets)

    def scrub_bytes(self, data: bytes) -> bytes:
        """`scrub` for bytes relayed to a client (whole events, so a key is never split across calls)."""
        return scrubbing.scrub_bytes(data, self._secret_bytes)

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> None:
        if self.config.ledger.url:  # [ledger] url: the team's ledger in PostgreSQL
            from gateway.accounting.ledger_pg import PgLedger

            self.ledger = PgLedger(self.config.ledger.url, instance=self.instance,  # type: ignore[assignment]
                                   retention_days=self.config.ledger.retention_days,
                                   synchronous_commit=self.config.ledger.synchronous_commit,
                                   spool=self.ledger_path if self.config.ledger.commit == "spool" else None)
        else:
            self.ledger = Ledger(self.ledger_path)
        if self.team is not None:
            self.team.open()
        from gateway.caching.replay import default_path

        self.replay = ReplayCache(self.replay_path or default_path(), self.config.cache.replay_ttl_s,
                                  self.config.cache.replay_max_entries, clock=self.clock)
        midnight = self.clock() - self.clock() % 86400
        rows = self.ledger.attempts_since(midnight - 86400)  # a provider's day may start before UTC midnight
        # (Gemini's is Pacific): each quota window keeps only the rows of its own day
        self.routing.quotas.restore(rows)
        for row in self.ledger.since(midnight):
            ex = Exchange.from_dict(row)
            self.aggregate.add(ex)
            self.stats.count_guards(ex)  # guard actions today, like the aggregate's cost (xx dash)

    def close(self) -> None:
        self.broker.close()
        if self.team is not None:
            self.team.close()
        if self.ledger is not None:
            self.ledger.close()
        if self.replay is not None:
            self.replay.close()

    async def background(self) -> None:
        """Once a second: surface time-driven model changes and pick up config edits."""
        while True:
            await asyncio.sleep(1.0)
            try:
                self.routing.health.poll()
                self.reload_if_changed()
                self.scan.tick(self)
                await self.governor.tick()  # OpenRouter's key endpoint every 5 minutes per key
                logs.flush()
            except Exception:  # a bug here must not stop the loop
                log.exception("background tick failed")

    # -- hot reload ----------------------------------------------------------------------
    def _mtime(self) -> float | None:
        if self.config.source.startswith("<"):
            return None
        try:
            return Path(self.config.source).stat().st_mtime
        except OSError:
            return None

    def reload_if_changed(self) -> bool:
        mtime = self._mtime()
        if mtime is None or mtime == self._config_mtime:
            return False
        self._config_mtime = mtime
        try:
            new = load(Path(self.config.source))
        except ConfigError as exc:
            self.config_error = "; ".join(exc.problems)[:1000]
            log.error("config reload failed, keeping the last valid config: %s", self.config_error)
            self.broker.publish("config", {"ok": False, "error": self.config_error})
            return False
        self.apply_config(new)
        log.info("config reloaded from %s", new.source)
        return True

    def apply_config(self, new: Config) -> None:
        for gone in set(self.config.models) - set(new.models):
            self.routing.affinity.forget_model(gone)  # no conversation sticks to a model that no longer exists
        self.config = new
        self.config_error = None
        self._set_secrets(new)
        self.capture.config_enabled, self.capture.max_bytes = new.capture.enabled, int(new.capture.max_mb * 1048576)
        self.routing.quotas.update_config(new)
        self.routing.health.breaker = new.breaker
        self.routing.scan = self.scan.view(new)
        self.broker.publish("config", {"ok": True, "source": new.source})
        if self.team is not None:
            self.team.announce_reload()

    def _model_changed(self, name: str) -> None:
        if (name in self.config.models or name in self.routing.scan.models) and self.model_view is not None:
            self.broker.publish("model", self.model_view(name))

    # -- recording -----------------------------------------------------------------------
    def _finish(self, ex: Exchange, price: Price | None, replay: bool) -> None:
        if ex.ended is None:
            ex.ended = self.clock()
        if ex.token is None:
            ex.token = team_token.get()  # set by the team-token gate for this request's task, else None
        if ex.error:
            ex.error = self.scrub(ex.error)
        for a in ex.attempts:
            if a.error:
                a.error = self.scrub(a.error)
        cache.annotate(ex, price, replay=replay)
        self.stats.add(ex)
        self.guards.remember(ex)
        self.capture.finish(ex)
        self.aggregate.add(ex)
        if self.broker.subscribers:
            self.broker.publish("exchange", ex.to_dict())
        if log.isEnabledFor(logging.INFO):
            log.info("%s", cache.log_line(ex))

    async def record(self, ex: Exchange, price: Price | None = None, *, replay: bool = False) -> None:
        """Finish an Exchange: stats, events, then the ledger (awaited commit)."""
        self._finish(ex, price, replay)
        if self.ledger is not None:
            await self.ledger.write(ex)

    def record_nowait(self, ex: Exchange, price: Price | None = None) -> None:
        """For a cancelled request: nothing may be awaited, but the row must not be lost."""
        self._finish(ex, price, False)
        if self.ledger is not None:
            self.ledger.write_nowait(ex)
