"""Who may use the HTTP API: whoever sends the service's bearer token (``Authorization: Bearer ...``).

The token is generated into the run directory's secrets on first start
(``callcenter api-token`` prints it). Every request is checked, unknown routes
included, so an unauthenticated client learns nothing about what exists.
"""

from __future__ import annotations

import hmac

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from callcenter.web.json_io import ApiError

__all__ = ["API_TOKEN", "require_token"]

API_TOKEN = web.AppKey("api_token", str)

_CHALLENGE = 'Bearer realm="callcenter"'


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    scheme, _, credentials = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        raise ApiError(
            401,
            "missing bearer token: send 'Authorization: Bearer <token>' (`callcenter api-token` prints it)",
            {hdrs.WWW_AUTHENTICATE: _CHALLENGE},
        )
    # Constant-time comparison, on bytes: a header may hold any character, and compare_digest takes only ASCII str.
    expected = request.app[API_TOKEN].encode()
    if not hmac.compare_digest(credentials.encode("utf-8", "surrogatepass"), expected):
        raise ApiError(401, "invalid bearer token", {hdrs.WWW_AUTHENTICATE: _CHALLENGE + ', error="invalid_token"'})
    return await handler(request)
