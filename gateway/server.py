"""Serve the app with Hypercorn in the foreground, draining in-flight streams on SIGTERM/SIGINT.

`python -m gateway` and `xx gateway run` end here; `xx gateway up` runs this detached.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HyperConfig
from hypercorn.utils import LifespanFailureError

from gateway import logs
from gateway.config import Config, ConfigError, load, paths
from gateway.startup import StartError, missing_driver

log = logging.getLogger("xx.gateway")
DRAIN_S = 30.0


def hyper_config(config: Config) -> HyperConfig:
    hc = HyperConfig()
    host = f"[{config.gateway.host}]" if ":" in config.gateway.host else config.gateway.host
    hc.bind = [f"{host}:{config.gateway.port}"]
    hc.graceful_timeout = DRAIN_S
    hc.keep_alive_timeout = 75
    hc.accesslog = None
    hc.errorlog = log
    hc.worker_class = "asyncio"
    return hc


def write_runtime(config: Config, started: float, instance: str) -> Path:
    info = {"pid": os.getpid(), "host": config.gateway.host, "port": config.gateway.port,
            "url": config.gateway.url, "started": started, "instance": instance, "config": config.source}
    path = paths.runtime_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(path)
    return path


def remove_runtime(path: Path) -> None:
    """Remove the runtime file only if it is still ours (a newer gateway may have replaced it)."""
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


async def run(config: Config, *, runtime_file: bool = True) -> None:
    from gateway.app import create_app

    app = create_app(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    rt = app.extensions["xx"]
    written: Path | None = None
    failed = _quiet_start_errors(app)

    @app.before_serving
    async def _announce() -> None:
        nonlocal written
        if runtime_file:
            written = write_runtime(config, rt.started, rt.instance)
        log.info("xx gateway %s listening on %s (config %s)", rt.version, config.gateway.url, config.source)
        logs.flush()

    async def shutdown_trigger() -> None:
        await stop.wait()
        log.info("xx gateway stopping: draining %d in-flight requests (up to %gs)", rt.in_flight, DRAIN_S)
        rt.broker.close()  # event subscribers are not work in flight: end their streams first

    try:
        await hypercorn_serve(app, hyper_config(config), shutdown_trigger=shutdown_trigger)
    except LifespanFailureError:
        if failed:  # a StartError: main prints its one line
            raise failed[0] from None
        raise
    finally:
        if written is not None:
            remove_runtime(written)
        log.info("xx gateway stopped")
        logs.flush()


def _quiet_start_errors(app: Any) -> list[StartError]:
    """Keep a StartError out of Quart's traceback log; `run` raises it for `main` to print as one line."""
    failed: list[StartError] = []
    log_exception = app.log_exception

    def log_unless_start_error(exc_info: Any) -> None:
        if isinstance(exc_info[1], StartError):
            failed.append(exc_info[1])
        else:
            log_exception(exc_info)

    app.log_exception = log_unless_start_error
    return failed


def _run_loop(main_coro: Any) -> None:
    """uvloop where it exists: on 2 cores it took the gateway from ~500 to ~700 req/s at concurrency 32
    (tests/bench/bench_gateway.py), mostly by making each socket send cheaper."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main_coro)
        return
    uvloop.run(main_coro)


def main(argv: list[str] | None = None) -> int:
    logs.setup()
    try:
        config = load()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not config.gateway.loopback and not config.gateway.token:
        print(f"refusing to bind {config.gateway.host}: a non-loopback bind needs gateway.token", file=sys.stderr)
        return 2
    if (missing := missing_driver(config)) is not None:
        print(f"xx gateway: {missing}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    try:
        _run_loop(run(config))
    except StartError as exc:
        print(f"xx gateway: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot listen on {config.gateway.url}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    log.debug("ran for %.1fs", time.monotonic() - t0)
    return 0
