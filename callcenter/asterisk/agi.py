"""FastAGI server: Asterisk connects for each call; a handler drives the channel.

Built on panoramisk's FastAGI ``Request`` (command sending and result
parsing). The connection handling is our own, because panoramisk 1.4's
``Application.handler`` busy-loops on a socket closed before the headers end,
catches BaseException (swallowing cancellation) and keeps no reference to its
tasks. Every command is bounded by a timeout; a hang-up, a closed socket or a
garbled reply becomes an ``AgiHangupError`` or ``AgiCommandError`` for the
handler, never a crash of the server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from panoramisk.fast_agi import Request

from callcenter.errors import PeerError

__all__ = ["AgiChannel", "AgiCommandError", "AgiHandler", "AgiHangupError", "AgiServer"]

log = logging.getLogger(__name__)

_HEADER_LIMIT = 64 * 1024
_HEADER_TIMEOUT = 5.0
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
    """One call's AGI session."""

    def __init__(
        self,
        request: Request,
        headers: dict[str, str],
        command_timeout: float,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self._request = request
        self.headers = headers
        self._command_timeout = command_timeout
        self._observe = observe
        self.hung_up = False

    def header(self, name: str) -> str:
        """An agi_* header ('agi_' prefix optional); '' when absent or 'unknown'."""
        value = self.headers.get(name if name.startswith("agi_") else "agi_" + name, "")
        return "" if value == "unknown" else value

    async def command(self, text: str, timeout: float | None = None) -> dict[str, Any]:
        """Send one AGI command and return panoramisk's parsed reply."""
        if self.hung_up:
            raise AgiHangupError("the channel has hung up")
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout or self._command_timeout):
                reply: dict[str, Any] = await self._request.send_command(text)
        except TimeoutError:
            raise AgiCommandError(f"no reply to {text!r} in time") from None
        except (ConnectionError, ValueError, IndexError) as error:
            # A closed socket reads as b'' which panoramisk fails to parse: the channel is gone.
            self.hung_up = True
            raise AgiHangupError(f"AGI connection lost during {text!r}: {error!r}") from None
        finally:
            if self._observe:
                self._observe(text.split(" ", 1)[0], time.perf_counter() - started)
        failure = reply.get("error")
        if failure in ("AGIResultHangup", "AGIAppError"):
            # result=-1 is how Asterisk reports a hang-up during a command.
            self.hung_up = True
            raise AgiHangupError(f"{text!r}: {reply.get('msg')}")
        if failure:
            raise AgiCommandError(f"{text!r}: {failure} {reply.get('msg', '')!r}")
        return reply

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
        code = int(self._result(reply) or 0)
        return chr(code) if code > 0 else None

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
        code = int(self._result(reply) or 0)
        return chr(code) if code > 0 else None

    async def exec(self, application: str, arguments: str = "") -> str:
        reply = await self.command(f"EXEC {application} {_argument(arguments)}", timeout=120)
        return self._result(reply)

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
            request = Request(app=None, headers=headers, reader=reader, writer=writer)
            channel = AgiChannel(request, headers, self._command_timeout, self._observe)
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
        headers: dict[str, str] = {}
        for line in block.decode("utf-8", "replace").splitlines():
            name, separator, value = line.partition(": ")
            if separator and name.startswith("agi_"):
                headers[name] = value
        return headers
