"""The aiohttp application of the web pages and the HTTP API, and the one entry point that starts it inside
`callcenter serve`.

    parts = WebParts(auth=..., wallboard=..., admin=..., reports=...)   # each optional
    runner = await start_web(settings, acd, dialplan, secrets.api_token, recordings=library, parts=parts)
    ...
    await runner.cleanup()

The app holds no resource of its own (the ACD service, the dialplan, the engine, the audit writer belong to
the caller); its state is typed (``web.AppKey``) and there are no module-level singletons, so tests build as
many apps as they like. Without ``parts.auth`` only the bearer token gets in (the pages are there, the log-in
refuses).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from callcenter.calls.acd_service import AcdService
from callcenter.calls.monitoring import MonitorDesk
from callcenter.calls.recordings import RecordingDesk
from callcenter.config import Settings
from callcenter.dialplan.model import Dialplan
from callcenter.errors import ConfigError
from callcenter.web.admin_api import DialplanAdmin, add_admin_routes
from callcenter.web.agent_api import AgentActions, add_agent_routes
from callcenter.web.auth import API_TOKEN, WEB_AUTH, WebAuth, authenticate
from callcenter.web.json_io import json_errors
from callcenter.web.live_call_api import add_live_call_routes
from callcenter.web.openapi import add_openapi_route
from callcenter.web.pages import add_page_routes
from callcenter.web.recording_api import RecordingLibrary, add_recording_routes
from callcenter.web.report_pages import ReportSource, add_report_routes
from callcenter.web.wallboard_api import WallboardFeed, add_wallboard_routes

__all__ = ["WebParts", "create_app", "listen", "start_web"]

log = logging.getLogger(__name__)

BODY_LIMIT = 16 * 1024  # the API's requests are a few fields; more is refused with a 413
SHUTDOWN_GRACE = 5.0  # requests in progress (an action waits up to ~2 s for the ACD) finish before the app stops

# Pages and answers are ours only: no framing (clickjacking), no inline script, no sniffing, no referrer leaks.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class WebParts:
    """The optional parts of the app: browser log-in, the wallboard, the admin actions, the reports."""

    auth: WebAuth | None = None
    wallboard: WallboardFeed | None = None
    admin: DialplanAdmin | None = None
    reports: ReportSource | None = None


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def create_app(
    acd: AcdService,
    dialplan: Callable[[], Dialplan],
    api_token: str,
    *,
    settle: float = 2.0,
    recordings: RecordingLibrary | None = None,
    live_calls: tuple[RecordingDesk, MonitorDesk] | None = None,
    parts: WebParts = WebParts(),
) -> web.Application:
    """The app: ``settle`` bounds how long an action waits for the ACD to confirm it; with ``recordings``,
    the recordings library's routes too; with ``live_calls``, recording control and monitoring."""
    if not api_token:
        raise ConfigError("the HTTP API needs a non-empty api_token (generated into the run directory's secrets)")
    # json_errors is outermost: the 401s, 403s, 404s, 405s and 413s of everything inside come out as JSON.
    app = web.Application(middlewares=[json_errors, authenticate], client_max_size=BODY_LIMIT)
    app.on_response_prepare.append(_security_headers)
    app[API_TOKEN] = api_token
    if parts.auth is not None:
        app[WEB_AUTH] = parts.auth
    add_page_routes(app)
    add_openapi_route(app)
    add_agent_routes(app, AgentActions(acd, dialplan, settle=settle))
    if recordings is not None:
        add_recording_routes(app, recordings, dialplan)
    if live_calls is not None:  # recording control and monitoring on calls going on
        add_live_call_routes(app, *live_calls, dialplan)
    if parts.wallboard is not None:
        add_wallboard_routes(app, parts.wallboard)
    if parts.admin is not None:
        add_admin_routes(app, parts.admin)
    if parts.reports is not None:
        add_report_routes(app, parts.reports, dialplan)
    return app


async def start_web(
    settings: Settings,
    acd: AcdService,
    dialplan: Callable[[], Dialplan],
    api_token: str,
    *,
    recordings: RecordingLibrary | None = None,
    live_calls: tuple[RecordingDesk, MonitorDesk] | None = None,
    parts: WebParts = WebParts(),
) -> web.AppRunner:
    """Serve the pages and the API on ``settings.http_host:http_port``; stop with ``await runner.cleanup()``.

    ``dialplan`` returns the live dialplan (a ``LiveDialplan`` is such a callable); a reload reaches the
    ACD before any action asked for after it (``runner.addresses`` gives the bound address, useful with port 0).
    """
    app = create_app(acd, dialplan, api_token, recordings=recordings, live_calls=live_calls, parts=parts)
    runner = await listen(app, settings.http_host, settings.http_port, "HTTP", SHUTDOWN_GRACE)
    host, port = runner.addresses[0][:2]
    log.info("HTTP API listening on http://%s:%d/api/ (web pages at http://%s:%d/)", host, port, host, port)
    return runner


async def listen(app: web.Application, host: str, port: int, setting: str, shutdown: float) -> web.AppRunner:
    """Run ``app`` on ``host:port``; a port that cannot be had is a ConfigError naming CALLCENTER_<setting>_*."""
    runner = web.AppRunner(app, shutdown_timeout=shutdown)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise ConfigError(
            f"{setting} cannot listen on {host}:{port} ({error.strerror or error}); "
            f"set CALLCENTER_{setting}_HOST / CALLCENTER_{setting}_PORT"
        ) from None
    return runner
