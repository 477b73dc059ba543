"""Fixtures for team mode: one real redis-server and one PostgreSQL per test session, a fresh
database and a flushed Redis per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.dbservers import PostgresServer, RedisServer, unavailable


@pytest.fixture(scope="session")
def redis_server_session() -> Iterator[RedisServer | str]:
    srv = RedisServer()
    try:
        srv.start()
    except Exception as exc:  # any failure to start is a reported skip (a failure under CI)
        srv.cleanup()
        yield f"{exc}"
        return
    yield srv
    srv.cleanup()


@pytest.fixture
def redis_server(redis_server_session: RedisServer | str) -> Iterator[RedisServer]:
    if isinstance(redis_server_session, str):
        unavailable(redis_server_session)
    srv = redis_server_session
    assert isinstance(srv, RedisServer)
    if srv.proc is None:  # a previous test stopped it
        srv.start()
    import redis

    r = redis.Redis(unix_socket_path=str(srv.socket))
    r.flushall()
    r.close()
    yield srv
    if srv.proc is None:
        srv.start()


@pytest.fixture(scope="session")
def pg_server_session() -> Iterator[PostgresServer | str]:
    srv = PostgresServer()
    try:
        srv.init().start()
    except Exception as exc:
        srv.cleanup()
        yield f"{exc}"
        return
    yield srv
    srv.cleanup()


@pytest.fixture
def pg_server(pg_server_session: PostgresServer | str) -> Iterator[PostgresServer]:
    if isinstance(pg_server_session, str):
        unavailable(pg_server_session)
    srv = pg_server_session
    assert isinstance(srv, PostgresServer)
    if not srv.started:
        srv.start()
    yield srv
    if not srv.started:
        srv.start()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    return pg_server.create_db()
