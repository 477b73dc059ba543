"""`python -m gateway.simulator [--host H] [--port 0] [--ready-file PATH]`.

Prints the URL as the first line of stdout (and writes it to the ready file, atomically)
once the port is bound, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from gateway.simulator.sim import Simulator


def _args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m gateway.simulator", description="A simulated LLM provider.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    ap.add_argument("--ready-file", type=Path, help="write the URL here once serving")
    ap.add_argument("--cache-min-tokens", type=int, default=1024)
    ap.add_argument("--cache-ttl", type=float, default=300.0)
    ap.add_argument("--usage-always", action="store_true", help="end every chat stream with a usage chunk")
    return ap.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    sim = Simulator(cache_min_tokens=args.cache_min_tokens, cache_ttl=args.cache_ttl, usage_always=args.usage_always)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    url = await sim.start(args.host, args.port)
    try:
        if args.ready_file:
            tmp = args.ready_file.with_name(args.ready_file.name + ".tmp")
            tmp.write_text(url + "\n")
            os.replace(tmp, args.ready_file)
        print(url, flush=True)
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    args = _args(sys.argv[1:] if argv is None else argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
