"""The AMI client flooded with thousands of actions against the real Asterisk: the number in flight stays
within the bound, each action is answered or times out, and the link is usable afterwards.

"In flight" is measured on the wire, not inside the client: a loopback proxy between the client and
Asterisk counts actions sent whose response has not reached the client yet. It can also hold Asterisk's
replies back (a slow Asterisk), so actions time out. (An e2e test: it shares the session's Asterisk.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from panoramisk.message import Message

from callcenter.asterisk.ami import AmiActionError, AmiClient
from callcenter.config import Settings
from callcenter.stack import Stack

pytestmark = pytest.mark.e2e

BOUND = 32


class CountingProxy:
    """Forwards one AMI session; counts actions sent and not yet answered to the client, with their peak."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self.delay = 0.0  # seconds each chunk of Asterisk's output is held back
        self.outstanding: set[str] = set()
        self.peak = 0
        self.drained = asyncio.Event()  # set while nothing is outstanding
        self.sent = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        for task in (
            asyncio.create_task(self._pump(reader, up_writer, self._sent)),
            asyncio.create_task(self._pump(up_reader, writer, self._answered, slow=True)),
        ):
            self._tasks.add(task)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_message: Callable[[dict[str, str]], None],
        slow: bool = False,
    ) -> None:
        buffer = b""
        try:
            while chunk := await reader.read(65536):
                if slow and self.delay:
                    await asyncio.sleep(self.delay)
                buffer += chunk
                *messages, buffer = buffer.split(b"\r\n\r\n")
                for message in messages:  # counted before the peer can react to them
                    on_message(_headers(message))
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _sent(self, headers: dict[str, str]) -> None:
        if "actionid" in headers:
            self.sent += 1
            self.outstanding.add(headers["actionid"])
            self.drained.clear()
            self.peak = max(self.peak, len(self.outstanding))

    def _answered(self, headers: dict[str, str]) -> None:
        if "response" in headers:
            self.outstanding.discard(headers.get("actionid", ""))
            if not self.outstanding:
                self.drained.set()


def _headers(message: bytes) -> dict[str, str]:
    headers = {}
    for line in message.decode(errors="replace").splitlines():
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


async def _ping(client: AmiClient) -> str:
    """ "answered" or "timed out"; anything else fails the test."""
    try:
        response: Message = await client.action({"Action": "Ping"})
    except AmiActionError as error:
        assert "no response in time" in str(error), error
        return "timed out"
    assert response.get("Ping") == "Pong", response
    return "answered"


@pytest.fixture
async def proxied(stack: Stack, settings: Settings) -> AsyncIterator[tuple[CountingProxy, AmiClient]]:
    proxy = CountingProxy(settings.ami_port)
    await proxy.start()
    client = AmiClient(
        "127.0.0.1",
        proxy.port,
        settings.ami_username,
        stack.secrets.ami_secret,
        on_event=lambda event: None,
        max_in_flight=BOUND,
        action_timeout=0.5,
    )
    client.start()
    events = asyncio.create_task(client.dispatch_events())
    try:
        async with asyncio.timeout(15):
            await client.connected.wait()
        yield proxy, client
    finally:
        client.close()
        events.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await events
        await proxy.stop()


async def test_thousands_of_actions_at_once_stay_within_the_bound_and_are_all_answered(
    proxied: tuple[CountingProxy, AmiClient],
) -> None:
    proxy, client = proxied
    async with asyncio.timeout(60):  # no deadlock: the whole flood is bounded
        outcomes = await asyncio.gather(*(_ping(client) for _ in range(3000)))
    assert outcomes.count("answered") == 3000
    assert proxy.sent >= 3000
    assert 1 < proxy.peak <= BOUND + 1, proxy.peak  # many at once, never more than the bound (+ a keep-alive)


async def test_a_flood_against_a_slow_asterisk_times_out_within_the_bound_and_the_link_recovers(
    proxied: tuple[CountingProxy, AmiClient],
) -> None:
    proxy, client = proxied
    proxy.delay = 0.8  # each reply reaches the client after the actions' timeout (0.5 s)
    async with asyncio.timeout(90):
        outcomes = await asyncio.gather(*(_ping(client) for _ in range(1000)))
    assert outcomes.count("timed out") > 0
    assert outcomes.count("answered") + outcomes.count("timed out") == 1000
    # Timed-out actions are still being answered by Asterisk: new ones must not pile up behind them.
    assert proxy.peak <= BOUND + 1, proxy.peak  # + panoramisk's own keep-alive Ping (every 5 s), unbounded
    proxy.delay = 0.0
    async with asyncio.timeout(15):
        await proxy.drained.wait()  # the late replies
        assert await _ping(client) == "answered"
