"""A local control socket for admin commands to the running service (`callcenter reload`).

A Unix socket in the run directory (mode 0600: root only), one JSON request
and one JSON reply per connection. The web admin API comes later; this is what
the CLI and the tests use meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from callcenter.errors import PeerError

__all__ = ["ControlServer", "request"]

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
_REQUEST_LIMIT = 64 * 1024


class ControlServer:
    def __init__(self, path: Path, handlers: dict[str, Handler]) -> None:
        self._path = path
        self._handlers = handlers
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()  # left by a run that was killed
        self._server = await asyncio.start_unix_server(self._serve, path=str(self._path), limit=_REQUEST_LIMIT)
        os.chmod(self._path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                line = await reader.readline()
            message = json.loads(line)
            command = message.get("command") if isinstance(message, dict) else None
            handler = self._handlers.get(command) if isinstance(command, str) else None
            if handler is None:
                reply: dict[str, Any] = {"ok": False, "error": f"unknown command; known: {sorted(self._handlers)}"}
            else:
                reply = await handler(message)
        except (TimeoutError, ValueError, ConnectionError) as error:
            reply = {"ok": False, "error": f"bad request: {error}"}
        try:
            writer.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def request(path: Path, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Send one request to the running service and return its reply (blocking: for the CLI)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(str(path))
            connection.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise PeerError(f"the service is not running (no control socket at {path})") from None
    except OSError as error:
        raise PeerError(f"talking to the service at {path}: {error}") from None
    reply: dict[str, Any] = json.loads(data)
    return reply
