"""The Textual app: owns the connection loops and the state; widgets only display.

Two workers talk to the gateway. The poller (health, stats, models) follows dolphie: one fetch
at a time, and only when it finishes is a one-shot timer armed for the next, so polls never
overlap, a failure simply arms a longer (backed-off) timer, and pausing is not re-arming. The
event reader streams /xx/events into a bounded queue; a `FeedWaiting` message (coalesced by
`can_replace`) asks for an apply, and applies are rate-limited to `apply_hz`, so a burst of
hundreds of events costs one `state.apply` and one repaint.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
from textual import events as tevents
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input

from xx.dash import default_starter, render_cache, render_header, render_models, render_requests, views
from xx.dash.demo_probe import running_demo
from xx.dash.feed import AdminClient, AdminError, backoff, describe
from xx.dash.messages import BatchApplied, FeedWaiting
from xx.dash.series import MinuteSeries, feed_series
from xx.dash.state import DashState, Event, apply
from xx.dash.widgets.banner import DownBanner
from xx.dash.widgets.cache_panel import CachePanel
from xx.dash.widgets.exchange_screen import ExchangeScreen
from xx.dash.widgets.filter_bar import FilterBar
from xx.dash.widgets.header import GatewayHeader
from xx.dash.widgets.help_screen import HelpScreen
from xx.dash.widgets.model_screen import DetailScreen
from xx.dash.widgets.models_table import ModelsTable
from xx.dash.widgets.requests_log import RequestsLog

PENDING_MAX = 20_000  # events queued while paused or between applies; oldest dropped beyond
WIDE_FROM = 160  # columns: the cache panel moves beside the models table
ROOMY_FROM = 200  # columns: the side panel gets its full width
SHORT_BELOW = 30  # rows: fewer model rows, so the requests log keeps room
FETCH_ERRORS = (httpx.HTTPError, AdminError, ValueError)


class DashApp(App[int]):
    CSS_PATH = "dash.tcss"
    TITLE = "xx dash"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("p", "pause", "pause"),
        Binding("slash", "filter", "filter"),
        Binding("r", "reset_model", "reset", show=False),
        Binding("s", "start_gateway", "start", show=False),
        Binding("c", "cycle_cache", "cache by", show=False),
        Binding("o", "view('pools')", "pools"),
        Binding("a", "view('agents')", "agents", show=False),
        Binding("t", "view('plots')", "plots", show=False),
        Binding("question_mark", "help", "help·legend"),
        Binding("escape", "clear_filter", "clear filter", show=False),
    ]

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        token: str | None = None,
        poll_s: float = 2.0,
        requests_limit: int = 200,
        rows_shown: int = 100,
        backoff_base: float = 0.5,
        backoff_cap: float = 10.0,
        apply_hz: float = 10.0,
        starter: Callable[[], str] | None = default_starter,
        clock: Callable[[], float] = time.time,
        scene: list[Event] | None = None,
        find_demo: Callable[[], str | None] = running_demo,
    ) -> None:
        super().__init__()
        self.url = url.rstrip("/")
        self.admin = AdminClient(self.url, token, client)
        self.poll_s = poll_s
        self.requests_limit = requests_limit
        self.rows_shown = rows_shown
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.apply_interval = 1.0 / apply_hz
        self.starter = starter
        self.clock = clock
        self.scene = scene  # a recorded scene instead of a gateway (the screenshot)
        self.find_demo = find_demo
        self.demo_url: str | None = None  # a running `xx demo`'s gateway, looked up while ours is down
        self.state = DashState(url=self.url)
        self.paused = False
        self.filter_query = ""
        self.cache_view = "total"
        self.dropped = 0
        self._pending: deque[Event] = deque(maxlen=PENDING_MAX)
        self._wake_posted = False
        self._drain_timer: Timer | None = None
        self._poll_timer: Timer | None = None
        self._last_apply = 0.0
        self._poll_failures = 0
        self._backfilled = False
        self._events_wake = asyncio.Event()
        self._shown: dict[str, Any] = {}
        self.series = MinuteSeries()
        self._rows: dict[str, render_requests.RequestRow] = {}
        self._cache_at = 0.0

    def compose(self) -> ComposeResult:
        yield GatewayHeader(id="header")
        yield DownBanner(id="banner")
        with Container(id="top"):
            yield ModelsTable(id="models")
            yield CachePanel(id="cache")
        yield RequestsLog(id="requests")
        yield FilterBar(id="filter")
        yield Footer()

    def on_mount(self) -> None:
        # Held, not queried later: while a modal is up, `query_one` would search the modal.
        self.header = self.query_one(GatewayHeader)
        self.banner = self.query_one(DownBanner)
        self.models_table = self.query_one(ModelsTable)
        self.cache_panel = self.query_one(CachePanel)
        self.requests_log = self.query_one(RequestsLog)
        self.filter_bar = self.query_one(FilterBar)
        self.top = self.query_one("#top")
        self._layout(self.size.width, self.size.height)
        self.refresh_views()
        self.requests_log.focus()
        self.set_interval(1.0, self._tick)
        if self.scene is not None:
            for ev in self.scene:
                self.push(ev)
            self.drain()
            return
        self.poll_now()
        self.run_worker(self._read_events, group="events", exclusive=True, exit_on_error=False)

    def on_resize(self, event: tevents.Resize) -> None:
        self._layout(event.size.width, event.size.height)

    def _layout(self, width: int, height: int) -> None:  # a Resize can arrive before on_mount
        top = getattr(self, "top", None)
        if top is None:
            return
        top.set_class(width >= WIDE_FROM, "-wide")
        top.set_class(width >= ROOMY_FROM, "-roomy")
        top.set_class(height < SHORT_BELOW, "-short")

    async def on_unmount(self) -> None:
        await self.admin.aclose()

    def push(self, event: Event) -> None:
        """Queue one event for the next apply (called by the reader for every SSE event)."""
        if len(self._pending) == PENDING_MAX:
            self.dropped += 1
        self._pending.append(event)
        if not self._wake_posted:
            self._wake_posted = True
            self.post_message(FeedWaiting())

    def on_feed_waiting(self, _: FeedWaiting) -> None:
        self._wake_posted = False
        if self.paused or self._drain_timer is not None:
            return
        delay = self._last_apply + self.apply_interval - time.monotonic()
        if delay <= 0:
            self.drain()
        else:
            self._drain_timer = self.set_timer(delay, self.drain)

    def drain(self) -> None:
        """Apply everything queued in one batch and repaint."""
        self._drain_timer = None
        if self.paused or not self._pending:
            return
        batch = tuple(self._pending)
        self._pending.clear()
        self.state = apply(self.state, batch)
        feed_series(self.series, batch)
        self._last_apply = time.monotonic()
        self.refresh_views()
        self.post_message(BatchApplied(batch, time.time()))

    def refresh_views(self) -> None:
        """Repaint what changed. `apply` replaces a collection only when it changed, so identity is the check."""
        now = self.clock()
        st = self.state
        # Header and models repaint on a poll, a model event or the tick, not on every burst of exchanges.
        if self._changed("polled", (st.stats, st.health, st.models, st.conn, st.down_since, self.paused,
                                    self.filter_query)):
            self._refresh_time_bound(now)
        stale = self._changed("cache", (st.stats, self.cache_view))
        if stale or (st.requests is not self._shown.get("ring") and time.monotonic() - self._cache_at >= 1.0):
            self._shown["ring"] = st.requests
            self._refresh_cache(now)
        if self._changed("requests", (st.requests, self.filter_query)):
            rows = render_requests.request_rows(st.requests, self.filter_query, self.rows_shown, self._rows)
            self.requests_log.show(rows)

    def _changed(self, name: str, key: tuple[Any, ...]) -> bool:
        old = self._shown.get(name)
        if old is not None and len(old) == len(key) and all(a is b for a, b in zip(old, key, strict=True)):
            return False
        self._shown[name] = key
        return True

    def _refresh_time_bound(self, now: float) -> None:
        st = self.state
        header = render_header.header_text(
            st, now, paused=self.paused, filter_query=self.filter_query, width=self.size.width - 2
        )
        self.header.show(header)
        banner = render_header.banner_text(st, now, can_start=self.starter is not None, demo_url=self.demo_url)
        self.banner.show(banner)
        self.models_table.show(render_models.model_rows(st.models, now))
        if isinstance(self.screen, DetailScreen):
            self.screen.update(self)

    def _refresh_cache(self, now: float) -> None:
        st = self.state
        self._cache_at = time.monotonic()
        started = (st.health or {}).get("started") or (st.stats or {}).get("started")
        width = self.cache_panel.content_width(self.size.width, WIDE_FROM, ROOMY_FROM)
        summary = render_cache.cache_summary(st.stats, st.requests, now, width, float(started) if started else None)
        self.cache_panel.show(summary, render_cache.breakdown_table(st.stats, self.cache_view))

    def _tick(self) -> None:
        if not self.paused:
            now = self.clock()
            self._refresh_time_bound(now)
            self._refresh_cache(now)


    def poll_now(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self.run_worker(self._poll, group="poll", exclusive=True, exit_on_error=False)

    async def _poll(self) -> None:
        now = time.time()
        try:
            health, stats, models = await asyncio.gather(
                self.admin.health(), self.admin.stats(), self.admin.models()
            )
            batch = [Event("health", health, now), Event("stats", stats, now), Event("models", models, now)]
            if not self._backfilled:
                batch.append(Event("requests", await self.admin.requests(self.requests_limit), now))
                self._backfilled = True
            recovered = self._poll_failures > 0 or self.state.conn != "up"
            self._poll_failures = 0
            delay = self.poll_s
            if recovered:
                self._events_wake.set()  # reconnect the event stream now, not after its backoff
        except FETCH_ERRORS as e:
            self._poll_failures += 1
            self._backfilled = False
            delay = backoff(self._poll_failures, self.backoff_base, self.backoff_cap)
            self.demo_url = self.find_demo()
            batch = [Event("down", {"reason": describe(e), "retry_at": time.time() + delay}, now)]
        for ev in batch:
            self.push(ev)
        self.drain()
        if not self.paused:  # pausing is simply not re-arming
            self._poll_timer = self.set_timer(delay, self.poll_now)


    async def _read_events(self) -> None:
        failures = 0
        while True:
            try:
                async for ev in self.admin.events():
                    if ev.kind == "hello" and (self.state.conn != "up" or failures):
                        self.poll_now()
                    failures = 0
                    self.push(ev)
            except FETCH_ERRORS as e:
                failures += 1
                answered = isinstance(e, httpx.HTTPStatusError)  # up, but no event stream: keep polling
                delay = backoff(failures, self.backoff_base, self.backoff_cap)
                if not answered and self.state.conn == "up":
                    self.push(
                        Event("down", {"reason": describe(e), "retry_at": time.time() + delay}, time.time())
                    )
                    self.poll_now()
            self._events_wake.clear()
            try:
                await asyncio.wait_for(self._events_wake.wait(), delay)
            except TimeoutError:
                pass


    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            if self._drain_timer is not None:
                self._drain_timer.stop()
                self._drain_timer = None
            self._refresh_time_bound(self.clock())
        else:
            self.drain()
            self.refresh_views()
            self.poll_now()

    def action_filter(self) -> None:
        bar = self.filter_bar
        bar.add_class("-shown")
        bar.focus()

    def action_clear_filter(self) -> None:
        bar = self.filter_bar
        bar.value = ""
        bar.remove_class("-shown")
        self.set_filter("")
        self.requests_log.focus()

    def set_filter(self, query: str) -> None:
        self.filter_query = query.strip()
        self.refresh_views()

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FilterBar):
            self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, FilterBar):
            if not event.value.strip():
                event.input.remove_class("-shown")
            self.requests_log.focus()

    def action_cycle_cache(self) -> None:
        views = render_cache.BREAKDOWNS
        self.cache_view = views[(views.index(self.cache_view) + 1) % len(views)]
        self.refresh_views()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(render_header.demo_hint(self.state.health, self.state.stats)))

    def action_view(self, name: str) -> None:
        """`o` pools, `a` agents, `t` plots (the selected model's when the models table has focus)."""
        model = self.models_table.selected_model if self.models_table.has_focus else None
        self.push_screen(DetailScreen(*views.opened(name, model), name))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, ModelsTable):
            name = str(event.row_key.value)
            self.push_screen(DetailScreen(f"model {name}", views.model(name), "model"))

    def on_requests_log_selected(self, event: RequestsLog.Selected) -> None:
        ex = next((r for r in self.state.requests if str(r.get("id")) == event.key), None)
        if ex is not None:
            self.push_screen(ExchangeScreen(ex))

    def action_reset_model(self) -> None:
        name = self.models_table.selected_model
        if name is None:
            self.notify("no model selected", severity="warning")
            return
        self.run_worker(self._reset(name), group="reset", exit_on_error=False)

    async def _reset(self, name: str) -> None:
        try:
            data = await self.admin.reset(name)
        except FETCH_ERRORS as e:
            self.notify(f"reset {name} failed: {describe(e)}", severity="error")
            return
        self.push(Event("reset", data, time.time()))
        self.drain()
        self.notify(f"{name}: breaker reset")

    def action_start_gateway(self) -> None:
        if self.state.conn == "up":
            self.notify("the gateway is already running")
            return
        if self.starter is None:
            self.notify("starting the gateway is not available here", severity="warning")
            return
        self.notify("starting the gateway…")
        self.run_worker(self._start(self.starter), group="start", exclusive=True, exit_on_error=False)

    async def _start(self, starter: Callable[[], str]) -> None:
        try:
            url = await asyncio.to_thread(starter)
        except Exception as e:  # SupervisorError, ConfigError, ImportError: all are "could not start"
            self.notify(f"could not start the gateway: {e}", severity="error", timeout=10)
            return
        self.notify(f"gateway up at {url}")
        self.poll_now()
