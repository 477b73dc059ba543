"""Real redis-server and PostgreSQL for team-mode tests, each on a private unix socket in a temp dir.

Why real servers: the whole point of team mode is that atomicity and durability come from engines
built for them, so a fake would test nothing. PostgreSQL refuses to run as root (tests do), so it
runs as an unprivileged user through `runuser`. A server that cannot start is a skip with the reason
printed, except under CI (`CI` set), where a skip would hide a missing install: there it fails.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

PG_BIN_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
PG_USER_CANDIDATES = ("postgres", "xxpg")


def unavailable(reason: str) -> None:
    """Skip with a printed reason; under CI that is a failure (the servers must be installed there)."""
    print(f"team servers unavailable: {reason}")
    if os.environ.get("XX_CI") or os.environ.get("CI"):
        pytest.fail(f"CI must run the team tests, but {reason}")
    pytest.skip(reason)


def _pg_bin(name: str) -> str | None:
    for d in PG_BIN_DIRS:
        p = Path(d) / name
        if p.exists():
            return str(p)
    return shutil.which(name)


def _pg_user() -> str | None:
    """An unprivileged account to run PostgreSQL as; created with useradd when none exists."""
    for name in PG_USER_CANDIDATES:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    res = subprocess.run(["useradd", "--system", "--no-create-home", "xxpg"], capture_output=True, text=True)
    return "xxpg" if res.returncode == 0 else None


class RedisServer:
    """redis-server on `<dir>/redis.sock`, no persistence; stop() and start() keep the same socket."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="xx-redis-"))
        self.socket = self.dir / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.socket.exists() and self._ping():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start: {self._log_tail()}")

    def _ping(self) -> bool:
        import socket

        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(0.5)
                s.connect(str(self.socket))
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _log_tail(self) -> str:
        try:
            return (self.dir / "redis.log").read_text()[-500:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """PostgreSQL with its socket in a temp dir (no TCP), run as an unprivileged user."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="xx-pg-"))
        self.data = self.dir / "data"
        self.user = _pg_user()
        self.started = False

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        assert self.user is not None
        cmd = list(argv) if os.geteuid() != 0 else ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.dir)

    def init(self) -> PostgresServer:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL (initdb, pg_ctl) is not installed")
        if self.user is None:
            raise RuntimeError("no unprivileged user to run PostgreSQL as (useradd failed)")
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        res = self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        if res.returncode != 0:
            raise RuntimeError(f"initdb failed: {res.stderr[-500:]}")
        return self

    def start(self) -> PostgresServer:
        pg_ctl = _pg_bin("pg_ctl")
        assert pg_ctl is not None
        opts = f"-k {self.dir} -c listen_addresses='' -c max_connections=200"
        res = self._run(pg_ctl, "-D", str(self.data), "-l", str(self.dir / "pg.log"), "-o", opts, "-w", "-t", "30", "start")
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {res.stderr[-300:]} {self._log_tail()}")
        self.started = True
        return self

    def stop(self, mode: str = "fast") -> None:
        pg_ctl = _pg_bin("pg_ctl")
        if self.started and pg_ctl:
            self._run(pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")
        self.started = False

    def _log_tail(self) -> str:
        try:
            return (self.dir / "pg.log").read_text()[-500:]
        except OSError:
            return "(no log)"

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@/{db}?host={self.dir}"

    def create_db(self) -> str:
        """A fresh database for one test; returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        psql = _pg_bin("psql")
        if psql is not None:
            res = self._run(psql, "-h", str(self.dir), "-U", "postgres", "-d", "postgres", "-c", f"CREATE DATABASE {name}")
            if res.returncode == 0:
                return self.url(name)
        import asyncio

        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(host=str(self.dir), user="postgres", database="postgres")
            try:
                await conn.execute(f"CREATE DATABASE {name}")
            finally:
                await conn.close()

        asyncio.run(create())
        return self.url(name)

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
