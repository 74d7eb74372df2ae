"""The web pages: log-in and log-out, and the HTML shells of the wallboard, recordings, reports and admin pages.

The pages are server-rendered (jinja2, autoescaped) and call the JSON API with the session cookie; the script
(``static/app.js``, shipped in the package: no CDN) sends the page's CSRF token in ``X-CSRF-Token``.

    GET  /login          the form (public), with a log-in token also set in a SameSite=Strict cookie
    POST /login          username, password, next, login_token (matching its cookie: no log-in CSRF): a NEW
                         session (any session the browser had is closed first: no fixation), then 303 to
                         ``next``; a refusal says nothing about which part was wrong; after 5 failures in
                         15 min for a name (30 for an address), 429 for 5 min
    POST /logout         ends the session (CSRF token required, as for every POST with the cookie)
    GET  /               to the wallboard
    GET  /wallboard      every role (an agent sees their own panel)
    GET  /recordings     supervisors and admins
    GET  /reports        every role (an agent: their own figures)
    GET  /admin          admins: the dialplan check and reload
    GET  /health         public: "ok"
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from callcenter.web.auth import COOKIE, PRINCIPAL, SESSION, WEB_AUTH, require_role
from callcenter.web.json_io import ApiError
from callcenter.web.passwords import PASSWORD_MAX, hash_password, verify_password
from callcenter.web.throttle import LoginThrottle
from callcenter.web.user_store import find_user_async
from callcenter.web.users import Principal, Role

__all__ = ["TEMPLATES", "add_page_routes", "render", "safe_next"]

log = logging.getLogger(__name__)

TEMPLATES = web.AppKey("templates", jinja2.Environment)
# Per user name: 5 failures in 15 min lock it for 5 min; per address (an office behind one NAT): 30.
USER_THROTTLE = web.AppKey("login_user_throttle", LoginThrottle)
ADDRESS_THROTTLE = web.AppKey("login_address_throttle", LoginThrottle)
PASSWORD_CHECKS = web.AppKey("password_checks", asyncio.Semaphore)
STATIC_DIR = Path(__file__).resolve().parent / "static"  # shipped as package data (pyproject.toml)
LOGIN_COOKIE = "cc_login"  # the log-in form's token (log-in CSRF), on /login only
LOGIN_FORM_LIFETIME = 3600  # seconds a log-in form may stay open before it is refused
# Checked when the user is unknown, so an unknown name costs the same time as a wrong password.
_DUMMY_HASH = hash_password("not-a-password-of-anyone")
_FIELD_MAX = 512


def safe_next(target: str) -> str:
    """Where to go after log-in: a path of this site only (no scheme, no host, no //host)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("callcenter.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["pct"] = _percent
    environment.filters["num"] = _number
    return environment


def _percent(value: object) -> str:
    return f"{value * 100:.1f} %" if isinstance(value, int | float) else "-"


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value) if isinstance(value, int) else "-"


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    principal = request.get(PRINCIPAL)
    session = request.get(SESSION)
    page = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(user=principal, csrf=session.csrf if session is not None else "", **context)
    )
    return web.Response(text=page, content_type="text/html", status=status, headers={"Cache-Control": "no-store"})


def _login_page(request: web.Request, status: int, error: str, target: str, username: str) -> web.Response:
    """The form, with a fresh log-in token in it and in a SameSite=Strict cookie: a form posted from another
    site carries no such cookie, so nobody can log a browser in to an account of theirs (log-in CSRF)."""
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status, error=error, next=target, username=username, login_token=token)
    auth = request.app.get(WEB_AUTH)
    secure = auth.cookie_secure if auth is not None else True
    response.set_cookie(
        LOGIN_COOKIE, token, path="/login", httponly=True, samesite="Strict", secure=secure, max_age=LOGIN_FORM_LIFETIME
    )
    return response


async def _login_form(request: web.Request) -> web.Response:
    return _login_page(request, 200, "", safe_next(request.query.get("next", "/")), "")


async def _log_in(request: web.Request) -> web.StreamResponse:
    auth = request.app.get(WEB_AUTH)
    if auth is None:
        raise ApiError(404, "web log-in is not configured")
    form = await request.post()
    username, password, target, token = (
        str(form.get(name, ""))[:_FIELD_MAX] for name in ("username", "password", "next", "login_token")
    )
    target = safe_next(target or "/")
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not token or not expected or not hmac.compare_digest(_bytes(token), _bytes(expected)):
        message = "The log-in form had expired (or came from another site): please log in again."
        return _login_page(request, 403, message, target, username[:64])
    now = asyncio.get_running_loop().time()
    throttles = (
        (request.app[USER_THROTTLE], username.strip().lower()[:64]),
        (request.app[ADDRESS_THROTTLE], request.remote or ""),
    )
    wait = max(throttle.retry_after(key, now) for throttle, key in throttles)
    if wait > 0:
        log.warning("web log-in for %r from %s refused: too many failures", username[:64], request.remote)
        message = f"Too many failed log-ins: try again in {int(wait) + 1} s."
        return _login_page(request, 429, message, target, username[:64])
    # Counted as a failure now, before any await: attempts sent in parallel are each counted before the first
    # is checked, so they meet the lock-out like attempts sent one after another. A right one is taken back.
    for throttle, key in throttles:
        throttle.failed(key, now)
    async with auth.engine.connect() as connection:
        user = await find_user_async(connection, username.strip().lower())
    stored = user.password_hash if user is not None else _DUMMY_HASH
    async with request.app[PASSWORD_CHECKS]:  # each check takes ~32 MiB for a moment: a few at a time
        matches = await asyncio.to_thread(verify_password, password[:PASSWORD_MAX], stored)
    old = request.cookies.get(COOKIE)
    if old:  # whatever session this browser had ends here, right or wrong password
        await auth.sessions.close(old)
    if user is None or user.disabled or not matches:
        log.warning("web log-in refused for %r from %s", username[:64], request.remote)
        response = _login_page(request, 401, "Wrong user name or password.", target, username[:64])
        response.del_cookie(COOKIE, path="/")
        return response
    # The name's count is cleared; the address keeps its own: one good password does not hide a sweep.
    request.app[USER_THROTTLE].succeeded(throttles[0][1])
    request.app[ADDRESS_THROTTLE].forgive(throttles[1][1])
    opened = await auth.sessions.open(user.username, request.remote or "")
    log.info("web log-in: %s (%s) from %s", user.username, user.role, request.remote)
    response = _see_other(target)
    response.set_cookie(
        COOKIE,
        opened.token,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=auth.cookie_secure,
        max_age=int(auth.sessions.lifetime.total_seconds()),
    )
    return response


async def _log_out(request: web.Request) -> web.StreamResponse:
    auth = request.app.get(WEB_AUTH)
    token = request.cookies.get(COOKIE)
    if auth is not None and token:
        await auth.sessions.close(token)
    response = _see_other("/login")
    response.del_cookie(COOKIE, path="/")
    return response


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _see_other(location: str) -> web.Response:
    # A response, not an HTTPSeeOther: cookies are set on it (returning an HTTPException is deprecated).
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


async def _home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/wallboard")


async def _wallboard(request: web.Request) -> web.Response:
    principal: Principal = request[PRINCIPAL]
    return render(request, "wallboard.html", page="wallboard", agent_only=principal.role is Role.AGENT)


async def _recordings(request: web.Request) -> web.Response:
    require_role(request, Role.SUPERVISOR, Role.ADMIN)
    return render(request, "recordings.html", page="recordings")


async def _admin(request: web.Request) -> web.Response:
    require_role(request, Role.ADMIN)
    return render(request, "admin.html", page="admin")


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def add_page_routes(app: web.Application) -> None:
    app[TEMPLATES] = _environment()
    app[USER_THROTTLE] = LoginThrottle(limit=5)
    app[ADDRESS_THROTTLE] = LoginThrottle(limit=30)
    app[PASSWORD_CHECKS] = asyncio.Semaphore(4)
    app.router.add_get("/login", _login_form)
    app.router.add_post("/login", _log_in)
    app.router.add_post("/logout", _log_out)
    app.router.add_get("/", _home)
    app.router.add_get("/wallboard", _wallboard)
    app.router.add_get("/recordings", _recordings)
    app.router.add_get("/admin", _admin)
    app.router.add_get("/health", _health)
    app.router.add_static("/static", STATIC_DIR, append_version=True)
