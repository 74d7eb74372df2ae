"""Who is asking, on every request: the API's bearer token, or a logged-in browser's session cookie.

- ``Authorization: Bearer <token>``: the service's API token (``callcenter api-token`` prints it), an admin
  service account. No cookie is involved, so no CSRF token is asked for.
- The ``cc_session`` cookie (HttpOnly, SameSite=Strict, Secure unless configured off for plain-HTTP
  loopback): a web user's session (``sessions.SessionStore``). A state-changing request (anything but GET,
  HEAD, OPTIONS) made with it must carry the session's CSRF token, in the ``X-CSRF-Token`` header or a
  ``csrf_token`` form field.

Only the log-in page, the static assets and ``/health`` are reachable without either. A page asked for by a
browser without a session is a redirect to the log-in page; anything else is a JSON 401 that names both
ways in, so an unauthenticated client learns nothing about what exists (unknown routes included).
The handlers read ``request[PRINCIPAL]`` and apply the role rules of ``callcenter.web.users``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.web.json_io import ApiError
from callcenter.web.sessions import SessionStore, WebSession
from callcenter.web.users import SERVICE, Principal, Role

__all__ = [
    "API_TOKEN",
    "COOKIE",
    "CSRF_HEADER",
    "PRINCIPAL",
    "SESSION",
    "WEB_AUTH",
    "WebAuth",
    "authenticate",
    "is_public",
    "require_role",
]

API_TOKEN = web.AppKey("api_token", str)
COOKIE = "cc_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
PRINCIPAL = web.RequestKey("principal", Principal)
SESSION = web.RequestKey("web_session", WebSession)

_CHALLENGE = 'Bearer realm="callcenter"'
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PUBLIC = frozenset({"/login", "/health"})


@dataclass(frozen=True)
class WebAuth:
    """Browser log-in: where sessions live and how the cookie is set."""

    sessions: SessionStore
    engine: AsyncEngine  # where the log-in page reads users from
    cookie_secure: bool = True


WEB_AUTH = web.AppKey("web_auth", WebAuth)


def is_public(path: str) -> bool:
    return path in _PUBLIC or path.startswith("/static/")


def _missing() -> ApiError:
    return ApiError(
        401,
        "missing bearer token: send 'Authorization: Bearer <token>' (`callcenter api-token` prints it), "
        "or log in at /login",
        {hdrs.WWW_AUTHENTICATE: _CHALLENGE},
    )


def _bearer(request: web.Request, header: str) -> Principal:
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        raise _missing()
    # Constant-time comparison, on bytes: a header may hold any character, and compare_digest takes only ASCII str.
    expected = request.app[API_TOKEN].encode()
    if not hmac.compare_digest(credentials.encode("utf-8", "surrogatepass"), expected):
        raise ApiError(401, "invalid bearer token", {hdrs.WWW_AUTHENTICATE: _CHALLENGE + ', error="invalid_token"'})
    return SERVICE


async def _csrf_sent(request: web.Request) -> str:
    sent = request.headers.get(CSRF_HEADER)
    if sent is not None:
        return sent
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()  # cached by aiohttp: the handler reads the same form again
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def _wants_page(request: web.Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get(hdrs.ACCEPT, "")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_public(request.path):
        return await handler(request)
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is not None:
        request[PRINCIPAL] = _bearer(request, header)
        return await handler(request)
    auth = request.app.get(WEB_AUTH)
    token = request.cookies.get(COOKIE, "")
    session = await auth.sessions.find(token) if auth is not None and token else None
    if session is None:
        if auth is not None and _wants_page(request):
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
        raise _missing()
    if request.method not in _SAFE_METHODS:
        sent = await _csrf_sent(request)
        if not sent or not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), session.csrf.encode()):
            raise ApiError(403, f"missing or wrong CSRF token: send the page's token in the {CSRF_HEADER} header")
    request[PRINCIPAL] = session.principal
    request[SESSION] = session
    return await handler(request)


def require_role(request: web.Request, *roles: Role) -> Principal:
    """The principal, if its role is one of ``roles``; else a 403."""
    principal = request[PRINCIPAL]
    if principal.role not in roles:
        raise ApiError(403, f"not allowed for the {principal.role} role")
    return principal
