"""The only module that talks HTTP to providers: one shared aiohttp session per app.

Why aiohttp and not httpx here: on 2 cores, httpx's own layers (request building, cookie
extraction, auth and redirect handling, header models) cost more per request than the
whole rest of the proxy path; with httpcore's pool it was 3-6 ms CPU per request at
concurrency 32. aiohttp's connector costs ~1 ms. The session opens and closes with the
app's lifespan. Timeouts are explicit and separate: connect, first byte (headers and the
first body chunk) and the idle gap between chunks.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDictProxy

from gateway.config import Provider, Timeouts
from gateway.errors import UpstreamError, UpstreamKind

__all__ = ["Opened", "UpstreamError", "UpstreamKind", "auth_headers", "make_client", "open_stream"]
MAX_BODY = 64 * 1024 * 1024  # a whole (non-streamed) answer larger than this is refused, not buffered


@dataclass
class Opened:
    """An upstream response whose headers and first chunk have arrived."""

    status: int
    headers: CIMultiDictProxy[str]
    first: bytes
    response: aiohttp.ClientResponse

    async def next_chunk(self, idle: float) -> bytes:
        """The next piece of the body as it arrives (b"" at its end); UpstreamError on an idle gap or a reset.

        The connection stays open between calls: the caller decides when it is done (close_now).
        """
        try:
            async with asyncio.timeout(idle):
                return await self.response.content.readany()
        except TimeoutError:
            raise UpstreamError(UpstreamKind.IDLE_TIMEOUT, f"no data from upstream for {idle:g}s") from None
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise UpstreamError(UpstreamKind.RESET, f"upstream stream broke: {type(exc).__name__}") from None

    async def rest(self, idle: float) -> AsyncIterator[bytes]:
        """The remaining body as it arrives; the connection is closed when the iteration ends."""
        try:
            while chunk := await self.next_chunk(idle):
                yield chunk
        finally:
            self.close_now()

    async def read_all(self, idle: float, limit: int = MAX_BODY) -> bytes:
        """The whole body, or UpstreamError(TOO_LARGE) once it passes `limit` bytes."""
        parts = [self.first]
        size = len(self.first)
        async for chunk in self.rest(idle):
            size += len(chunk)
            if size > limit:
                self.close_now()
                raise UpstreamError(UpstreamKind.TOO_LARGE, f"upstream answer larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def close_now(self) -> None:
        """Drop the connection unless the body was read to its end (then it returns to the pool)."""
        if self.response.content.at_eof():
            self.response.release()
        else:
            self.response.close()

    async def close(self) -> None:
        self.close_now()


def make_client(timeouts: Timeouts) -> aiohttp.ClientSession:
    """Call inside the running loop (the app's before_serving)."""
    connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, keepalive_timeout=30, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect),
        auto_decompress=True,
        trust_env=False,  # provider URLs are explicit; an inherited HTTP(S)_PROXY must not capture them
        skip_auto_headers=("User-Agent",),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def auth_headers(provider: Provider) -> dict[str, str]:
    """Provider credentials: never logged, never echoed (the caller scrubs error text)."""
    h: dict[str, str] = {}
    if provider.api_key:
        if provider.dialect == "anthropic":
            h["x-api-key"] = provider.api_key
        else:
            h["authorization"] = f"Bearer {provider.api_key}"
    h.update(provider.headers)
    return h


async def open_stream(
    client: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeouts: Timeouts,
) -> Opened:
    """Send the request and wait for headers plus the first body chunk, within first_byte."""
    host = url.split("/")[2] if "//" in url else url
    response: aiohttp.ClientResponse | None = None
    try:
        async with asyncio.timeout(timeouts.first_byte):
            response = await client.post(url, data=body, headers=headers, allow_redirects=False)
            first = await response.content.readany()
        return Opened(response.status, response.headers, first, response)
    except aiohttp.ConnectionTimeoutError:  # before TimeoutError, its base: the socket never connected
        raise UpstreamError(UpstreamKind.CONNECT, f"cannot connect to {host} (connect timeout)") from None
    except TimeoutError:
        if response is not None:
            response.close()
        raise UpstreamError(UpstreamKind.FIRST_BYTE_TIMEOUT, f"no response from {host} within {timeouts.first_byte:g}s") from None
    except aiohttp.ClientConnectorError as exc:
        raise UpstreamError(UpstreamKind.CONNECT, f"cannot connect to {host} ({_connect_reason(exc)})") from None
    except (aiohttp.ClientError, ConnectionError) as exc:
        if response is not None:
            response.close()
        raise UpstreamError(UpstreamKind.RESET, f"upstream connection to {host} failed: {type(exc).__name__}") from None
    except BaseException:
        if response is not None:
            response.close()
        raise


def _connect_reason(exc: aiohttp.ClientConnectorError) -> str:
    """"Connection refused" / "Name or service not known", not asyncio's "Connect call failed ('h', p)"."""
    err = exc.os_error
    if err.errno and not isinstance(err, socket.gaierror):  # getaddrinfo's errno is its own (negative) code
        return os.strerror(err.errno)
    return err.strerror or type(exc).__name__
