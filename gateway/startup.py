"""Why a team gateway cannot start, said in one line a person can act on: never a traceback, never a password.

Two things stop a team gateway at its start, and both used to surface as a raw traceback:
the drivers of the `team` extra not installed (`[state] url` needs redis, `[ledger] url`
needs asyncpg), and the PostgreSQL ledger unreachable. The first is checked before anything
starts (`missing_driver`, also used by `xx doctor`); the second is raised by the runtime as a
`StartError` whose text names the server by host, port and database only.
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

TEAM_EXTRA = "pip install 'xx-agents[team]'"
# (config section, package to install, module the gateway imports)
DRIVERS = (("state", "redis", "redis.asyncio"), ("ledger", "asyncpg", "asyncpg"))


class StartError(Exception):
    """A reason the gateway cannot start, already worded for a person (no secret in it)."""


def missing_driver(config: Any) -> str | None:
    """What to install when a team URL is set but its driver does not import; None when all is there."""
    for section, package, module in DRIVERS:
        if not getattr(config, section).url:
            continue
        try:
            importlib.import_module(module)
        except ImportError:
            return (f"[{section}] url is set but the Python package {package!r} is not installed: "
                    f"{TEAM_EXTRA} (or remove [{section}] url for the embedded default)")
    return None


def where(url: str) -> str:
    """`host:port/database` of a server URL, the socket directory for a unix one: never user or password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or (parse_qs(parts.query).get("host") or [""])[0] or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # an unparsable URL: say nothing of it rather than echo it
        return "the configured URL"
    return f"{host}{port}{parts.path if parts.path not in ('', '/') else ''}"


def hide(text: str, url: str) -> str:
    """`text` with the URL and its password (if any) taken out: driver messages may quote either."""
    text = text.replace(url, where(url))
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text


def ledger_unreachable(url: str, exc: BaseException) -> StartError:
    """The ledger could not be opened at start: which server, why, and what to do."""
    detail = hide(str(exc) or type(exc).__name__, url)
    return StartError(f"cannot open the PostgreSQL ledger at {where(url)} ({type(exc).__name__}: {detail}); "
                      "start PostgreSQL there or fix [ledger] url, then start the gateway again")


def open_runtime(rt: Any) -> None:
    """`rt.open()`, with a ledger that fails to open said as a `StartError` (the ledger opens first)."""
    try:
        rt.open()
    except Exception as exc:
        url = rt.config.ledger.url
        if url and rt.ledger is None:
            raise ledger_unreachable(url, exc) from None
        raise


def ledger_problem(url: str, timeout: float = 3.0) -> str | None:
    """Connect once to the PostgreSQL ledger (for `xx doctor`): why it cannot be opened, or None."""
    import asyncio

    import asyncpg

    async def attempt() -> None:
        conn = await asyncpg.connect(url, timeout=timeout)
        await conn.close()

    try:
        asyncio.run(asyncio.wait_for(attempt(), timeout + 1))
    except Exception as exc:
        return str(ledger_unreachable(url, exc))
    return None
