from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from dash_admin_server import AdminServer

from gateway.protocols.sse import SSEEvent
from xx.dash.feed import AdminClient, AdminError, backoff, describe, parse_event


def test_backoff_doubles_and_caps() -> None:
    assert [backoff(n, 0.5, 4.0) for n in range(6)] == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff(10_000, 1.0, 10.0) == 10.0


def test_parse_event() -> None:
    ev = parse_event(SSEEvent("exchange", json.dumps({"id": "a"})), at=5.0)
    assert ev is not None and (ev.kind, ev.data, ev.at) == ("exchange", {"id": "a"}, 5.0)
    assert parse_event(SSEEvent("exchange", "{not json")) is None
    assert parse_event(SSEEvent("ping", "{}")) is None


async def test_client_reads_every_endpoint(server: AdminServer) -> None:
    client = AdminClient(server.url)
    try:
        assert (await client.health())["service"] == "xx-gateway"
        assert "cache" in await client.stats()
        assert len((await client.models())["models"]) == 7
        assert len((await client.requests(limit=5))["requests"]) == 5
        assert (await client.reset("kimi-free"))["model"]["state"] == "healthy"
        with pytest.raises(httpx.HTTPStatusError):
            await client.reset("nope")
    finally:
        await client.aclose()
    assert server.resets == ["kimi-free"]


async def test_token_header_is_sent(fixtures: dict) -> None:
    async with AdminServer(fixtures, token="s3cret") as srv:
        bad = AdminClient(srv.url)
        good = AdminClient(srv.url, token="s3cret")
        try:
            with pytest.raises(httpx.HTTPStatusError) as info:
                await bad.health()
            assert describe(info.value) == "HTTP 401"
            assert (await good.health())["pid"] == 41234
        finally:
            await bad.aclose()
            await good.aclose()


async def test_not_our_gateway(fixtures: dict) -> None:
    fixtures["health"]["service"] = "something-else"
    async with AdminServer(fixtures) as srv:
        client = AdminClient(srv.url)
        try:
            with pytest.raises(AdminError):
                await client.health()
        finally:
            await client.aclose()


async def test_events_stream_split_anywhere_and_end_is_an_error(server: AdminServer) -> None:
    client = AdminClient(server.url)
    got: list = []

    async def read() -> None:
        async for ev in client.events():
            got.append(ev)

    task = asyncio.ensure_future(read())
    try:
        while server.subscribers == 0:  # noqa: ASYNC110 (a count to watch, not an event)
            await asyncio.sleep(0.01)
        body = b"event: exchange\ndata: " + json.dumps({"id": "split"}).encode() + b"\n\n"
        for i in range(len(body)):  # one byte per chunk: the decoder must reassemble
            server.push_raw(body[i : i + 1])
        server.push_raw(b"event: ping\ndata: {}\n\n: comment\n\n")
        server.push("model", {"name": "kimi-free", "state": "open"})
        while len(got) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        assert [e.kind for e in got] == ["hello", "exchange", "model"]
        assert got[1].data == {"id": "split"}
        await server.stop()
        with pytest.raises(httpx.HTTPError):
            await asyncio.wait_for(task, 5)
    finally:
        task.cancel()
        await client.aclose()


async def test_describe_connection_refused() -> None:
    client = AdminClient("http://127.0.0.1:9")
    try:
        with pytest.raises(httpx.ConnectError) as info:
            await client.health()
        assert describe(info.value) == "connection refused"
    finally:
        await client.aclose()
