"""How the HTTP API speaks: JSON objects in, JSON answers out, every error as ``{"error": "..."}``.

Bad input is the client's problem, never a crash: a body that is not JSON, not an
object, too deep, too large or with unknown fields is a 400 (413 for size) that
says what is wrong; an unknown route is a JSON 404, a wrong method a JSON 405.
A 500 means our bug: it is logged with its traceback and answered in JSON too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from callcenter.errors import CallcenterError

__all__ = ["ApiError", "error_response", "json_errors", "read_object"]

log = logging.getLogger(__name__)


class ApiError(CallcenterError):
    """A request we refuse, with the HTTP status and the message the client gets."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


async def read_object(request: web.Request, fields: Collection[str]) -> dict[str, Any]:
    """The request's JSON object (an empty body is ``{}``); any key outside ``fields`` is refused."""
    raw = await request.read()  # bounded by the app's client_max_size: beyond it aiohttp raises a 413
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        raise ApiError(400, f"request body is not valid JSON: {error}") from None
    except RecursionError:  # [[[[...]]]] nested deeper than the parser goes
        raise ApiError(400, "request body is not valid JSON: nested too deep") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"request body must be a JSON object, not {_json_type(body)}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        expected = f"expected: {', '.join(sorted(fields))}" if fields else "this request takes none"
        raise ApiError(400, f"unknown field(s) {', '.join(map(repr, unknown))} ({expected})")
    return body


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: whatever goes wrong, the client gets JSON."""
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error.status, error.message, error.headers)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        if error.status == 404:
            message = f"not found: {request.path}"
        elif error.status == 405:
            message = f"method {request.method} is not allowed on {request.path}"
        else:  # e.g. 413, whose text says the limit and the size sent
            message = error.text or error.reason
        allow = error.headers.get(hdrs.ALLOW)
        return error_response(error.status, message, {hdrs.ALLOW: allow} if allow is not None else None)
    except Exception:
        # Our bug, not the client's input: keep the traceback, answer in JSON, keep serving.
        log.exception("HTTP %s %s failed", request.method, request.path)
        return error_response(500, "internal error; the service log has the details")
