"""callcenter.asterisk.agi: the FastAGI server, driven over loopback by a test playing Asterisk.

Each test starts a real ``AgiServer`` on an ephemeral port, connects to it the way
Asterisk does (a block of ``agi_*`` headers ended by a blank line), then reads the
commands the handler sends and answers them with the lines Asterisk would write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from callcenter.asterisk import agi
from callcenter.asterisk.agi import (
    ALL_KEYS,
    AgiChannel,
    AgiCommandError,
    AgiHangupError,
    AgiServer,
    command_label,
)
from callcenter.errors import PeerError

STEP = 2.0  # the most any single expected event may take on loopback

Body = Callable[[AgiChannel], Awaitable[Any]]


def header_block(uniqueid: str = "vm-1.1") -> bytes:
    return (
        "agi_network: yes\n"
        "agi_network_script: inbound\n"
        "agi_request: agi://127.0.0.1/inbound\n"
        "agi_channel: PJSIP/carrier-00000001\n"
        "agi_language: en\n"
        f"agi_uniqueid: {uniqueid}\n"
        "agi_callerid: 79161234567\n"
        "agi_calleridname: unknown\n"
        "agi_extension: +78005553535\n"
        "agi_accountcode: \n"
        f"agi_arg_1: {uniqueid}\n"
        "\n"
    ).encode()


class Recorder:
    """A handler running ``body`` per call; each call's return value or exception lands in a queue."""

    def __init__(self, body: Body) -> None:
        self._body = body
        self.calls = 0
        self.outcomes: asyncio.Queue[Any] = asyncio.Queue()

    async def __call__(self, channel: AgiChannel) -> None:
        self.calls += 1
        try:
            result = await self._body(channel)
        except BaseException as error:  # CancelledError included: the test wants to see it
            self.outcomes.put_nowait(error)
            raise
        self.outcomes.put_nowait(result)

    async def outcome(self, within: float = STEP) -> Any:
        async with asyncio.timeout(within):
            return await self.outcomes.get()


async def attempt(awaitable: Awaitable[Any]) -> Any:
    """The result of one channel operation, or the error it raised."""
    try:
        return await awaitable
    except (PeerError, ValueError) as error:
        return error


class TrackingServer(AgiServer):
    """An AgiServer that also hands the test each connection's task."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: asyncio.Queue[asyncio.Task[Any]] = asyncio.Queue()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.put_nowait(task)
        await super()._connected(reader, writer)

    async def next_connection(self) -> asyncio.Task[Any]:
        async with asyncio.timeout(STEP):
            return await self.connections.get()


@contextlib.asynccontextmanager
async def serving(
    handler: Callable[[AgiChannel], Awaitable[None]],
    command_timeout: float = STEP,
    server_class: type[AgiServer] = AgiServer,
    **kwargs: Any,
) -> AsyncIterator[Any]:
    server = server_class(handler, "127.0.0.1", 0, command_timeout=command_timeout, **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.close(grace=1.0)


class Asterisk:
    """Asterisk's side of one FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def command(self) -> bytes:
        """The next command line the handler sent."""
        async with asyncio.timeout(STEP):
            return await self.reader.readline()

    async def reply(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def expect_end(self) -> None:
        """The server closes the connection without sending anything more."""
        try:
            async with asyncio.timeout(STEP):
                rest = await self.reader.read()
        except ConnectionResetError:
            rest = b""
        assert rest == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def connected(port: int, headers: bytes | None = None) -> AsyncIterator[Asterisk]:
    """A connection to the server; ``headers`` (default: a full block) are sent first."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    asterisk = Asterisk(reader, writer)
    try:
        if headers is None:
            headers = header_block()
        if headers:
            await asterisk.reply(headers)
        yield asterisk
    finally:
        await asterisk.close()


# --- headers ----------------------------------------------------------------------------------------------------


async def test_headers_are_parsed_and_unknown_reads_as_empty() -> None:
    async def body(channel: AgiChannel) -> dict[str, str]:
        names = ("extension", "arg_1", "agi_uniqueid", "channel", "callerid", "calleridname", "accountcode", "rdnis")
        return {name: channel.header(name) for name in names} | {"raw": channel.headers["agi_calleridname"]}

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        assert await handler.outcome() == {
            "extension": "+78005553535",
            "arg_1": "vm-1.1",
            "agi_uniqueid": "vm-1.1",
            "channel": "PJSIP/carrier-00000001",
            "callerid": "79161234567",
            "calleridname": "",
            "accountcode": "",
            "rdnis": "",
            "raw": "unknown",
        }
        await asterisk.expect_end()


# --- commands and replies ---------------------------------------------------------------------------------------


async def test_answer_and_set_variable_send_exactly_one_line_each() -> None:
    async def body(channel: AgiChannel) -> list[Any]:
        await channel.answer()
        await channel.set_variable("CHANNEL(language)", "ru")
        return [None, None]

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        assert await asterisk.command() == b"ANSWER\n"
        await asterisk.reply(b"200 result=0\n")
        assert await asterisk.command() == b'SET VARIABLE "CHANNEL(language)" "ru"\n'
        await asterisk.reply(b"200 result=1\n")
        assert await handler.outcome() == [None, None]
        await asterisk.expect_end()


async def test_set_variable_quotes_backslashes_and_double_quotes() -> None:
    async def body(channel: AgiChannel) -> None:
        await channel.set_variable("CC_NOTE", 'say "hi" \\o/')

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        assert await asterisk.command() == b'SET VARIABLE "CC_NOTE" "say \\"hi\\" \\\\o/"\n'
        await asterisk.reply(b"200 result=1\n")
        assert await handler.outcome() is None


async def test_stream_file_returns_the_interrupting_key_or_none() -> None:
    async def body(channel: AgiChannel) -> list[str | None]:
        return [await channel.stream_file("ru/welcome", ALL_KEYS), await channel.stream_file("ru/bye")]

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        assert await asterisk.command() == b'STREAM FILE "ru/welcome" "0123456789*#"\n'
        await asterisk.reply(b"200 result=49 endpos=1234\n")
        assert await asterisk.command() == b'STREAM FILE "ru/bye" ""\n'
        await asterisk.reply(b"200 result=0 endpos=8000\n")
        assert await handler.outcome() == ["1", None]


async def test_get_data_returns_the_digits_and_empty_on_timeout() -> None:
    async def body(channel: AgiChannel) -> list[str]:
        return [await channel.get_data("ru/menu", 5, 2) for _ in range(3)]

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        for reply in (b"200 result=12\n", b"200 result=3 (timeout)\n", b"200 result= (timeout)\n"):
            assert await asterisk.command() == b'GET DATA "ru/menu" 5000 2\n'
            await asterisk.reply(reply)
        assert await handler.outcome() == ["12", "3", ""]


async def test_wait_for_key_returns_the_key_or_none_on_timeout() -> None:
    async def body(channel: AgiChannel) -> list[str | None]:
        return [await channel.wait_for_key(3), await channel.wait_for_key(1.5)]

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        assert await asterisk.command() == b"WAIT FOR DIGIT 3000\n"
        await asterisk.reply(b"200 result=35\n")
        assert await asterisk.command() == b"WAIT FOR DIGIT 1500\n"
        await asterisk.reply(b"200 result=0\n")
        assert await handler.outcome() == ["#", None]


async def test_trying_lines_are_skipped_until_the_final_reply() -> None:
    async def body(channel: AgiChannel) -> str:
        return await channel.exec("Playback", "ru/welcome")

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        assert await asterisk.command() == b'EXEC Playback "ru/welcome"\n'
        await asterisk.reply(b"100 result=0 Trying...\n200 result=0\n")
        assert await handler.outcome() == "0"


@pytest.mark.parametrize("breaker", ["\n", "\r", "\0"], ids=["newline", "carriage-return", "nul"])
async def test_an_argument_with_a_line_break_raises_before_anything_is_sent(breaker: str) -> None:
    async def body(channel: AgiChannel) -> Any:
        refused = await attempt(channel.set_variable("CC_NOTE", f"x{breaker}HANGUP"))
        await channel.answer()
        return refused

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        # The first line the peer sees is the ANSWER sent afterwards: no SET VARIABLE, no injected HANGUP.
        assert await asterisk.command() == b"ANSWER\n"
        await asterisk.reply(b"200 result=0\n")
        refused = await handler.outcome()
        assert isinstance(refused, ValueError)
        await asterisk.expect_end()


async def test_observe_gets_each_command_name_and_its_duration() -> None:
    seen: list[tuple[str, float]] = []

    async def body(channel: AgiChannel) -> Any:
        await channel.answer()
        return await attempt(channel.set_variable("A", "b"))

    handler = Recorder(body)
    async with serving(handler, observe=lambda verb, seconds: seen.append((verb, seconds))) as server:
        async with connected(server.port) as asterisk:
            await asterisk.command()
            await asterisk.reply(b"200 result=0\n")
            await asterisk.command()
            await asterisk.reply(b"510 Invalid or unknown command\n")
            assert isinstance(await handler.outcome(), AgiCommandError)
    assert [verb for verb, _ in seen] == ["ANSWER", "SET VARIABLE"]
    assert all(0 <= seconds < STEP for _, seconds in seen)


@pytest.mark.parametrize(
    ("command", "label"),
    [
        ('SET VARIABLE "CC_NEXT" "x"', "SET VARIABLE"),
        ("GET VARIABLE CC_WAITING", "GET VARIABLE"),
        ('GET DATA "cc/enter-order" 5000 10', "GET DATA"),
        ('STREAM FILE "cc/hello" "0123456789*#"', "STREAM FILE"),
        ("WAIT FOR DIGIT 5000", "WAIT FOR"),
        ('EXEC Dial "PJSIP/1001,30,tm"', "EXEC Dial"),
        ("ANSWER", "ANSWER"),
        ("HANGUP 16", "HANGUP"),
    ],
)
def test_a_commands_label_is_its_name_without_arguments(command: str, label: str) -> None:
    assert command_label(command) == label


# --- hang-ups and failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", [b"HANGUP\n", b"200 result=-1 endpos=0\n"], ids=["HANGUP-line", "result=-1"])
async def test_a_hangup_reply_raises_hangup_error_and_later_commands_send_nothing(reply: bytes) -> None:
    async def body(channel: AgiChannel) -> list[Any]:
        first = await attempt(channel.stream_file("ru/welcome", ALL_KEYS))
        hung_up = channel.hung_up
        second = await attempt(channel.answer())
        third = await attempt(channel.set_variable("CC_DONE", "1"))
        return [first, hung_up, second, third]

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        assert (await asterisk.command()).startswith(b"STREAM FILE ")
        await asterisk.reply(reply)
        first, hung_up, second, third = await handler.outcome()
        assert isinstance(first, AgiHangupError)
        assert hung_up is True
        assert isinstance(second, AgiHangupError)
        assert isinstance(third, AgiHangupError)
        await asterisk.expect_end()  # neither ANSWER nor SET VARIABLE reached the socket


async def test_an_unsolicited_hangup_line_fails_the_next_command() -> None:
    async def body(channel: AgiChannel) -> list[Any]:
        await channel.answer()
        return [await attempt(channel.stream_file("ru/welcome")), channel.hung_up]

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        assert await asterisk.command() == b"ANSWER\n"
        await asterisk.reply(b"200 result=0\nHANGUP\n")  # the caller hangs up right after the answer
        error, hung_up = await handler.outcome()
        assert isinstance(error, AgiHangupError)
        assert hung_up is True


@pytest.mark.parametrize("when", ["during-command", "before-command"])
async def test_the_peer_closing_the_socket_gives_hangup_error(when: str) -> None:
    closed = asyncio.Event()

    async def body(channel: AgiChannel) -> list[Any]:
        if when == "before-command":
            async with asyncio.timeout(STEP):
                await closed.wait()
        return [await attempt(channel.answer()), channel.hung_up]

    handler = Recorder(body)
    async with serving(handler) as server:
        async with connected(server.port) as asterisk:
            if when == "during-command":
                assert await asterisk.command() == b"ANSWER\n"
            await asterisk.close()
            closed.set()
            error, hung_up = await handler.outcome()
    assert type(error) is AgiHangupError  # not the ValueError/IndexError of parsing an empty reply
    assert hung_up is True


async def test_no_reply_within_the_command_timeout_gives_command_error() -> None:
    async def body(channel: AgiChannel) -> list[Any]:
        return [await attempt(channel.answer()), channel.hung_up]

    handler = Recorder(body)
    async with serving(handler, command_timeout=0.2) as server, connected(server.port) as asterisk:
        assert await asterisk.command() == b"ANSWER\n"
        error, hung_up = await handler.outcome(within=STEP)  # the peer stays silent
        assert isinstance(error, AgiCommandError)
        assert hung_up is False


async def test_an_invalid_command_reply_gives_command_error_and_the_channel_stays_usable() -> None:
    async def body(channel: AgiChannel) -> list[Any]:
        return [await attempt(channel.exec("NoSuchApp")), channel.hung_up, await attempt(channel.answer())]

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        await asterisk.command()
        await asterisk.reply(b"510 Invalid or unknown command\n")
        assert await asterisk.command() == b"ANSWER\n"
        await asterisk.reply(b"200 result=0\n")
        error, hung_up, answered = await handler.outcome()
        assert isinstance(error, AgiCommandError)
        assert hung_up is False
        assert answered is None


# --- connection handling ----------------------------------------------------------------------------------------


async def test_a_client_closing_before_the_headers_end_is_dropped_without_calling_the_handler() -> None:
    handler = Recorder(lambda channel: asyncio.sleep(0))
    async with serving(handler, server_class=TrackingServer) as server:
        async with connected(server.port, headers=b"agi_network: yes\nagi_channel: PJSIP/x\n"):
            task = await server.next_connection()
        # panoramisk's own handler busy-loops here; ours must end as soon as the socket closes.
        done, _ = await asyncio.wait({task}, timeout=1.0)
        assert task in done
        assert not server._sessions
    assert handler.calls == 0


async def test_a_client_sending_nothing_is_dropped_after_the_header_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agi, "_HEADER_TIMEOUT", 0.2)
    handler = Recorder(lambda channel: asyncio.sleep(0))
    async with serving(handler, server_class=TrackingServer) as server:
        async with connected(server.port, headers=b"") as asterisk:
            task = await server.next_connection()
            await asterisk.expect_end()
            done, _ = await asyncio.wait({task}, timeout=1.0)
            assert task in done
            assert not server._sessions
    assert handler.calls == 0


async def test_an_oversized_header_block_is_dropped() -> None:
    handler = Recorder(lambda channel: asyncio.sleep(0))
    async with serving(handler, server_class=TrackingServer) as server:
        async with connected(server.port, headers=b"") as asterisk:
            with contextlib.suppress(ConnectionError):
                await asterisk.reply(b"agi_padding: " + b"x" * (agi._HEADER_LIMIT + 1024) + b"\n")
            task = await server.next_connection()
            await asterisk.expect_end()
            done, _ = await asyncio.wait({task}, timeout=1.0)
            assert task in done
    assert handler.calls == 0


async def test_a_handler_exception_is_logged_and_the_server_keeps_serving(caplog: pytest.LogCaptureFixture) -> None:
    async def body(channel: AgiChannel) -> None:
        if channel.header("uniqueid") == "vm-1.1":
            raise RuntimeError("handler bug")
        await channel.answer()

    handler = Recorder(body)
    caplog.set_level(logging.INFO, logger=agi.__name__)
    async with serving(handler) as server:
        async with connected(server.port, header_block("vm-1.1")) as asterisk:
            assert isinstance(await handler.outcome(), RuntimeError)
            await asterisk.expect_end()
        async with connected(server.port, header_block("vm-1.2")) as asterisk:
            assert await asterisk.command() == b"ANSWER\n"
            await asterisk.reply(b"200 result=0\n")
            assert await handler.outcome() is None
            await asterisk.expect_end()
    failures = [record for record in caplog.records if record.getMessage() == "AGI handler failed for vm-1.1"]
    assert len(failures) == 1
    assert failures[0].levelno == logging.ERROR
    assert failures[0].exc_info is not None
    assert failures[0].exc_info[0] is RuntimeError


async def test_close_cancels_a_handler_still_running_after_the_grace_period() -> None:
    started = asyncio.Event()
    never = asyncio.Event()

    async def body(channel: AgiChannel) -> None:
        started.set()
        await never.wait()

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        async with asyncio.timeout(STEP):
            await started.wait()
        loop = asyncio.get_running_loop()
        began = loop.time()
        async with asyncio.timeout(STEP):
            await server.close(grace=0.2)
        assert loop.time() - began >= 0.2
        assert isinstance(await handler.outcome(), asyncio.CancelledError)
        assert not server._sessions
        await asterisk.expect_end()


async def test_close_lets_a_call_finish_within_the_grace_period_and_refuses_new_calls() -> None:
    async def body(channel: AgiChannel) -> None:
        await channel.answer()

    handler = Recorder(body)
    async with serving(handler) as server:
        port = server.port
        async with connected(port) as asterisk:
            assert await asterisk.command() == b"ANSWER\n"
            closing = asyncio.create_task(server.close(grace=STEP))
            done, _ = await asyncio.wait({closing}, timeout=0.1)
            assert not done  # still waiting for the running call
            await asterisk.reply(b"200 result=0\n")
            async with asyncio.timeout(STEP):
                await closing
            assert await handler.outcome() is None  # finished, not cancelled
            await asterisk.expect_end()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)


async def test_many_concurrent_sessions_are_all_served_and_all_end() -> None:
    count = 50

    async def body(channel: AgiChannel) -> Any:
        await channel.answer()
        await channel.set_variable("CC_ID", channel.header("uniqueid"))
        return await attempt(channel.stream_file("ru/welcome"))

    handler = Recorder(body)

    async def call(server: AgiServer, index: int) -> None:
        uniqueid = f"vm-1.{index}"
        async with connected(server.port, header_block(uniqueid)) as asterisk:
            assert await asterisk.command() == b"ANSWER\n"
            await asterisk.reply(b"200 result=0\n")
            assert await asterisk.command() == f'SET VARIABLE "CC_ID" "{uniqueid}"\n'.encode()
            await asterisk.reply(b"200 result=1\n")
            assert (await asterisk.command()).startswith(b"STREAM FILE ")
            await asterisk.reply(b"200 result=-1 endpos=0\n")
            await asterisk.expect_end()

    async with serving(handler) as server:
        async with asyncio.timeout(10):
            await asyncio.gather(*(call(server, index) for index in range(count)))
        assert not server._sessions
    assert handler.calls == count
    outcomes = [handler.outcomes.get_nowait() for _ in range(count)]
    assert all(isinstance(outcome, AgiHangupError) for outcome in outcomes)


# --- known bugs -------------------------------------------------------------------------------------------------


async def test_a_late_reply_after_a_timeout_is_not_taken_as_the_next_commands_reply() -> None:
    timed_out = asyncio.Event()

    async def body(channel: AgiChannel) -> list[Any]:
        answered = await attempt(channel.answer())
        timed_out.set()
        return [answered, await attempt(channel.stream_file("ru/welcome", ALL_KEYS))]

    handler = Recorder(body)

    async def peer(asterisk: Asterisk) -> None:
        assert await asterisk.command() == b"ANSWER\n"
        async with asyncio.timeout(STEP):
            await timed_out.wait()
        await asterisk.reply(b"200 result=0\n")  # late: the 0.2 s command timeout has passed
        if (await asterisk.command()).startswith(b"STREAM FILE "):
            await asterisk.reply(b"200 result=49 endpos=1234\n")

    async with serving(handler, command_timeout=0.2) as server, connected(server.port) as asterisk:
        playing = asyncio.create_task(peer(asterisk))
        try:
            answered, key = await handler.outcome()
        finally:
            playing.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await playing
        assert isinstance(answered, AgiCommandError)
        # Correct: the key the caller pressed during STREAM FILE, or a refusal to use a desynced channel.
        assert key == "1" or isinstance(key, PeerError)


async def test_a_multiline_usage_error_does_not_desync_the_next_command() -> None:
    async def body(channel: AgiChannel) -> list[Any]:
        return [await attempt(channel.exec("Hangup")), await attempt(channel.answer())]

    handler = Recorder(body)

    async def peer(asterisk: Asterisk) -> None:
        await asterisk.command()
        await asterisk.reply(
            b"520-Invalid command syntax.  Proper usage follows:\n"
            b"Executes application with given options.\n"
            b"Returns whatever the application returns, or -2 on failure to find application.\n"
            b"520 End of proper usage.\n"
        )
        if await asterisk.command() == b"ANSWER\n":
            await asterisk.reply(b"200 result=0\n")

    async with serving(handler) as server, connected(server.port) as asterisk:
        playing = asyncio.create_task(peer(asterisk))
        try:
            usage, answered = await handler.outcome()
        finally:
            playing.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await playing
        assert isinstance(usage, AgiCommandError)
        assert answered is None


async def test_a_reply_cut_off_by_the_socket_closing_is_a_hangup() -> None:
    async def body(channel: AgiChannel) -> Any:
        return await attempt(channel.stream_file("ru/welcome", ALL_KEYS))

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        await asterisk.command()
        await asterisk.reply(b"200 result=49")
        await asterisk.close()
        assert isinstance(await handler.outcome(), AgiHangupError)


async def test_a_dead_channel_reply_is_a_hangup() -> None:
    async def body(channel: AgiChannel) -> list[Any]:
        return [await attempt(channel.stream_file("ru/welcome")), channel.hung_up]

    handler = Recorder(body)
    async with serving(handler) as server, connected(server.port) as asterisk:
        await asterisk.command()
        await asterisk.reply(b"511 Command Not Permitted on a dead channel or intercepted channel\n")
        error, hung_up = await handler.outcome()
        assert isinstance(error, AgiHangupError)
        assert hung_up is True
