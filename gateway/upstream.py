"""The only module that talks HTTP to providers.

One shared `httpx.AsyncClient` per app, opened and closed with the app's lifespan, with
the aiohttp transport underneath: httpcore's pool re-checks every pooled connection on
each request, which cost 3-6 ms CPU per request at concurrency 32 on 2 cores; aiohttp's
connector costs ~1 ms. Timeouts are explicit and separate: connect, first byte (headers
and the first body chunk) and the idle gap between chunks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from gateway.config import Provider, Timeouts

SUFFIX = {"anthropic": "/v1/messages", "openai": "/chat/completions", "responses": "/responses"}


class UpstreamError(Exception):
    """A failure before or while reading the upstream response; `kind` drives fallback."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # connect | timeout | reset | first_byte_timeout | idle_timeout
        self.status = status


@dataclass
class Opened:
    """An upstream response whose headers and first chunk have arrived."""

    status: int
    headers: httpx.Headers
    first: bytes
    response: httpx.Response
    chunks: AsyncIterator[bytes]

    async def rest(self, idle: float) -> AsyncIterator[bytes]:
        """The remaining body, raising UpstreamError on an idle gap or a reset."""
        it = self.chunks
        try:
            while True:
                try:
                    async with asyncio.timeout(idle):
                        chunk = await anext(it)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise UpstreamError("idle_timeout", f"no data from upstream for {idle:g}s") from None
                except httpx.HTTPError as exc:
                    raise UpstreamError("reset", f"upstream stream broke: {type(exc).__name__}") from None
                if chunk:
                    yield chunk
        finally:
            await self.response.aclose()

    async def read_all(self, idle: float) -> bytes:
        parts = [self.first]
        async for chunk in self.rest(idle):
            parts.append(chunk)
        return b"".join(parts)

    async def close(self) -> None:
        await self.response.aclose()


def make_client(timeouts: Timeouts) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30)
    transport = AiohttpTransport(limits=limits)
    timeout = httpx.Timeout(connect=timeouts.connect, read=None, write=timeouts.connect, pool=timeouts.connect)
    return httpx.AsyncClient(transport=transport, timeout=timeout, limits=limits, follow_redirects=False)


def url_for(provider: Provider, protocol: str | None = None) -> str:
    return provider.base_url + SUFFIX[protocol or provider.protocol]


def auth_headers(provider: Provider) -> dict[str, str]:
    """Provider credentials: never logged, never echoed (the caller scrubs error text)."""
    h: dict[str, str] = {}
    if provider.api_key:
        if provider.protocol == "anthropic":
            h["x-api-key"] = provider.api_key
        else:
            h["authorization"] = f"Bearer {provider.api_key}"
    h.update(provider.headers)
    return h


async def open_stream(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeouts: Timeouts,
) -> Opened:
    """Send the request and wait for headers plus the first body chunk, within first_byte."""
    request = client.build_request("POST", url, content=body, headers=headers)
    response: httpx.Response | None = None
    try:
        async with asyncio.timeout(timeouts.first_byte):
            response = await client.send(request, stream=True)
            it = response.aiter_bytes()
            first = b""
            while not first:
                try:
                    first = await anext(it)
                except StopAsyncIteration:
                    break
        return Opened(response.status_code, response.headers, first, response, it)
    except TimeoutError:
        if response is not None:
            await response.aclose()
        raise UpstreamError("first_byte_timeout", f"no response within {timeouts.first_byte:g}s") from None
    except httpx.ConnectError as exc:
        raise UpstreamError("connect", f"cannot connect to {httpx.URL(url).host}: {type(exc).__name__}") from None
    except httpx.TimeoutException as exc:
        if response is not None:
            await response.aclose()
        if isinstance(exc.__cause__, aiohttp.ClientConnectorError):  # the transport maps refusals to timeouts
            raise UpstreamError("connect", f"cannot connect to {httpx.URL(url).host}: connection refused") from None
        raise UpstreamError("timeout", f"timed out talking to {httpx.URL(url).host}") from None
    except httpx.HTTPError as exc:
        if response is not None:
            await response.aclose()
        raise UpstreamError("reset", f"upstream connection failed: {type(exc).__name__}") from None
    except BaseException:
        if response is not None:
            await response.aclose()
        raise
