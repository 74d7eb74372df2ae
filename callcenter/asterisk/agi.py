"""FastAGI server: Asterisk connects for each call; a handler drives the channel.

Replies are parsed by panoramisk's ``parse_agi_result``. The connection and
line handling is our own: panoramisk 1.4's ``Application.handler`` busy-loops
on a socket closed before the headers end, catches BaseException (swallowing
cancellation) and keeps no reference to its tasks, and its ``Request`` reads a
line cut by EOF as a shorter reply and half of a multi-line usage error.
Every command is bounded by a timeout; a hang-up, a closed socket or a garbled
reply becomes an ``AgiHangupError`` or ``AgiCommandError`` for the handler,
never a crash of the server.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from panoramisk.utils import parse_agi_result

from callcenter.errors import PeerError

__all__ = [
    "AgiChannel",
    "AgiCommandError",
    "AgiHandler",
    "AgiHangupError",
    "AgiServer",
    "command_label",
    "parse_environment",
]

log = logging.getLogger(__name__)

_HEADER_LIMIT = 64 * 1024
_HEADER_TIMEOUT = 5.0
_USAGE_LINES_MAX = 100
ALL_KEYS = "0123456789*#"


class AgiHangupError(PeerError):
    """The channel hung up (or Asterisk closed the AGI socket)."""


class AgiCommandError(PeerError):
    """Asterisk answered a command with an error, or not in time."""


def _argument(value: str) -> str:
    """One AGI command argument, quoted. A newline would end the command and start another."""
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError(f"AGI argument {value!r} contains a line break")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiChannel:
    """One call's AGI session: one command at a time, each answered by one reply."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        headers: dict[str, str],
        command_timeout: float,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.headers = headers
        self._command_timeout = command_timeout
        self._observe = observe
        self.hung_up = False
        # After a command timed out, its late reply would be taken for the next command's.
        self._out_of_step = False

    def header(self, name: str) -> str:
        """An agi_* header ('agi_' prefix optional); '' when absent or 'unknown'."""
        value = self.headers.get(name if name.startswith("agi_") else "agi_" + name, "")
        return "" if value == "unknown" else value

    async def command(self, text: str, timeout: float | None = None) -> dict[str, Any]:
        """Send one AGI command and return its reply as parsed by panoramisk."""
        if self.hung_up:
            raise AgiHangupError("the channel has hung up")
        if self._out_of_step:
            raise AgiCommandError(f"{text!r} not sent: an earlier command got no reply in time")
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout or self._command_timeout):
                self._writer.write(f"{text}\n".encode())
                await self._writer.drain()
                reply = await self._read_reply()
        except TimeoutError:
            self._out_of_step = True
            raise AgiCommandError(f"no reply to {text!r} in time") from None
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            self.hung_up = True
            raise AgiHangupError(f"AGI connection lost during {text!r}: {error!r}") from None
        finally:
            if self._observe:
                self._observe(command_label(text), time.perf_counter() - started)
        failure = reply.get("error")
        # result=-1 and "511 Command Not Permitted on a dead channel" are how Asterisk says the caller has gone.
        if failure in ("AGIResultHangup", "AGIAppError") or reply.get("status_code") == 511:
            self.hung_up = True
            raise AgiHangupError(f"{text!r}: {reply.get('msg')}")
        if failure:
            raise AgiCommandError(f"{text!r}: {failure} {reply.get('msg', '')!r}")
        return reply

    async def _read_reply(self) -> dict[str, Any]:
        """One reply, read line by line: panoramisk's reader drops a character of a line cut by EOF,
        and reads only two lines of a multi-line 520 usage error, leaving the rest for later commands."""
        while True:
            reply: dict[str, Any] = parse_agi_result(await self._read_line())
            if reply.get("status_code") == 100:  # "100 Trying...": the reply follows
                continue
            if reply.get("error") == "AGIUsageError" and reply.get("msg", "").startswith("520-"):
                for _ in range(_USAGE_LINES_MAX):
                    if (await self._read_line(reply=False)).startswith("520 "):
                        break
            return reply

    async def _read_line(self, reply: bool = True) -> str:
        """One whole line; with ``reply``, it must be a status line (or the asynchronous HANGUP)."""
        line = await self._reader.readline()
        if not line.endswith(b"\n"):
            raise asyncio.IncompleteReadError(line, None)
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if reply and text != "HANGUP" and not text[:3].isdigit():
            self._out_of_step = True
            raise AgiCommandError(f"not an AGI reply: {text[:80]!r}")
        return text

    @staticmethod
    def _number(reply: dict[str, Any]) -> int:
        value = AgiChannel._result(reply)
        try:
            return int(value or 0)
        except ValueError:
            raise AgiCommandError(f"not a number in the AGI reply: {value!r}") from None

    @staticmethod
    def _result(reply: dict[str, Any]) -> str:
        value: str = reply.get("result", ("", ""))[0]
        return value

    async def answer(self) -> None:
        await self.command("ANSWER")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {_argument(name)} {_argument(value)}")

    async def stream_file(self, path: str, escape_keys: str = "") -> str | None:
        """Play a file; return the key that interrupted it, if any."""
        reply = await self.command(f"STREAM FILE {_argument(path)} {_argument(escape_keys)}", timeout=120)
        code = self._number(reply)
        return chr(code) if 0 < code < 128 else None

    async def get_data(self, path: str, seconds: float, max_keys: int) -> str:
        """Play a file and read keys in one command, so no key falls between two commands.

        '#' ends the input and is not returned; an empty string means nothing was pressed.
        """
        reply = await self.command(
            f"GET DATA {_argument(path)} {int(seconds * 1000)} {max_keys}", timeout=seconds + 120
        )
        return self._result(reply)

    async def wait_for_key(self, seconds: float) -> str | None:
        reply = await self.command(f"WAIT FOR DIGIT {int(seconds * 1000)}", timeout=seconds + 5)
        code = self._number(reply)
        return chr(code) if 0 < code < 128 else None

    async def exec(self, application: str, arguments: str = "", timeout: float = 120) -> str:
        """Run a dialplan application; ``timeout`` bounds it (a Dial lasts as long as the conversation)."""
        reply = await self.command(f"EXEC {application} {_argument(arguments)}", timeout=timeout)
        return self._result(reply)

    async def say_number(self, number: int) -> None:
        """Say a number in the channel's language (with the grammar Asterisk knows for it)."""
        await self.command(f"SAY NUMBER {int(number)} {_argument('')}", timeout=30)

    async def get_variable(self, name: str) -> str:
        """A channel variable or function value; '' when it is not set."""
        reply = await self.command(f"GET VARIABLE {_argument(name)}")
        found, value = reply.get("result", ("0", ""))
        return str(value) if found == "1" else ""

    async def hangup(self, cause: int | None = None) -> None:
        """Hang up the channel; with a cause before answer, the caller gets the matching SIP refusal."""
        if cause is None:
            await self.command("HANGUP")
        else:
            await self.exec("Hangup", str(cause))
        self.hung_up = True


AgiHandler = Callable[[AgiChannel], Awaitable[None]]


class AgiServer:
    """Listens for FastAGI connections and runs ``handler`` for each, tracking every task."""

    def __init__(
        self,
        handler: AgiHandler,
        host: str,
        port: int,
        command_timeout: float = 10.0,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._command_timeout = command_timeout
        self._observe = observe
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connected, self._host, self._port, limit=_HEADER_LIMIT)
        log.info("FastAGI listening on %s:%d", self._host, self.port)

    async def close(self, grace: float = 5.0) -> None:
        """Stop accepting; give running calls ``grace`` seconds to finish, then cancel them."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._sessions:
            _, pending = await asyncio.wait(set(self._sessions), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            headers = await self._read_headers(reader)
            if headers is None:
                return
            channel = AgiChannel(reader, writer, headers, self._command_timeout, self._observe)
            try:
                await self._handler(channel)
            except (AgiHangupError, AgiCommandError) as error:
                log.info("AGI session %s ended: %s", headers.get("agi_uniqueid", "?"), error)
            except Exception:
                log.exception("AGI handler failed for %s", headers.get("agi_uniqueid", "?"))
        finally:
            self._sessions.discard(task)
            writer.close()

    async def _read_headers(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        try:
            async with asyncio.timeout(_HEADER_TIMEOUT):
                block = await reader.readuntil(b"\n\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as error:
            log.warning("FastAGI connection without a complete header block: %r", error)
            return None
        return parse_environment(block)


# Commands named by two words (GET VARIABLE and GET DATA differ: one is instant, the other waits for keys).
_TWO_WORDS = frozenset({"CHANNEL", "CONTROL", "DATABASE", "GET", "RECEIVE", "RECORD", "SAY", "SEND", "SET", "SPEECH",
                        "STREAM", "WAIT"})  # fmt: skip


def command_label(text: str) -> str:
    """An AGI command's name without its arguments, for the latency histogram: ``SET VARIABLE``, ``GET DATA``,
    ``EXEC Dial`` (the application: a Dial lasts the conversation, a StopMusicOnHold a moment). Arguments,
    which may carry a caller's data, never become a label."""
    words = text.split(" ", 2)
    if len(words) > 1 and (words[0] == "EXEC" or words[0] in _TWO_WORDS):
        return f"{words[0]} {words[1]}"
    return words[0]


# What Asterisk sends before the first value a caller controls (the caller ID): the first of each is its.
_ASTERISK_FIRST = frozenset(
    f"agi_{name}"
    for name in ("network", "network_script", "request", "channel", "language", "type", "uniqueid", "version")
)
_HEADER_NAME = re.compile(r"agi_[a-z0-9_]+")


def parse_environment(block: bytes) -> dict[str, str]:
    """The agi_* environment Asterisk sends at the start of a session, as a dict.

    Asterisk writes each value unescaped on its own line, so a line break in a value a caller controls
    (caller ID, name, the number dialled: SIP allows %0A) could forge lines. extensions.conf replaces them
    before the AGI; here, defence in depth: only '\n' ends a line (not the other line breaks of
    str.splitlines, which a UTF-8 display name may carry), a line that is no header continues the value
    before it, and of a repeated header the one Asterisk wrote wins: the first of those it writes before
    the caller ID, the last of the others (it writes them after). Bytes not UTF-8 become U+FFFD.
    """
    entries: list[list[str]] = []
    for line in block.decode("utf-8", "replace").removesuffix("\n\n").split("\n"):
        name, separator, value = line.partition(": ")
        if separator and _HEADER_NAME.fullmatch(name):
            entries.append([name, value])
        elif entries:
            entries[-1][1] += "\n" + line
    headers: dict[str, str] = {}
    for name, value in entries:
        if name not in headers or name not in _ASTERISK_FIRST:
            headers[name] = value
    return headers
