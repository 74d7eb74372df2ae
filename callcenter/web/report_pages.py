"""KPI reports in the browser and over HTTP, on the reports module (``callcenter.store.reports``).

    GET /reports            the page: date pickers, grouping, queue and agent filters; calls and service level
                            per group (SVG bars and line), the AHT trend, the table, the agents' table, and a
                            link to the CSV of what is shown
    GET /api/reports        the rows as JSON (``callcenter.kpi.render``'s columns)
    GET /api/reports.csv    the same as CSV (a download)

Parameters: ``from`` and ``to`` are local dates (YYYY-MM-DD, both included; default today), in the service's
``web_timezone``; ``group`` one of interval, hour, day, agent, queue, number (default interval for one day,
day for longer); ``queue`` and ``agent`` narrow it. Roles: an agent gets their own figures whatever they ask;
a supervisor their queues (a queue or agent outside them is a 403); an admin everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from aiohttp import hdrs, web
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.dialplan.model import Dialplan
from callcenter.kpi.render import Shown, flat, render_csv
from callcenter.kpi.report import Grouping, ReportError, ReportQuery, ReportRow, zone
from callcenter.store.reports import Source, report_async
from callcenter.web.auth import PRINCIPAL
from callcenter.web.charts import bar_chart, line_chart
from callcenter.web.json_io import ApiError
from callcenter.web.pages import render
from callcenter.web.users import Principal, Role, may_see_agent, visible_agents, visible_queues

__all__ = ["MAX_DAYS", "REPORTS", "ReportAsk", "ReportSource", "add_report_routes", "parse_report"]

MAX_DAYS = 400  # a range longer than a year and a bit is refused: one request, bounded work
# Rows a page draws grow with the range times the grouping's rows a day: bounded too (a CLI export is not).
_MAX_DAYS_BY = {Grouping.INTERVAL: 31, Grouping.HOUR: 92}
_PARAMETERS = ("from", "to", "group", "queue", "agent")


@dataclass(frozen=True)
class ReportSource:
    engine: AsyncEngine
    tz: str  # the zone of the dates asked for (Settings.web_timezone)
    clock: Callable[[], datetime]
    source: Source = "rollups"


@dataclass(frozen=True)
class ReportAsk:
    """A report request, checked against the asker's role."""

    query: ReportQuery
    first: date
    last: date
    shown: Shown
    queue: str
    agent: str


def _date(raw: str, name: str, default: date) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name}: {raw!r} is not a date like 2026-11-24") from None


def parse_report(
    params: Mapping[str, str], principal: Principal, dialplan: Dialplan, tz: str, now: datetime
) -> ReportAsk:
    unknown = sorted(set(params) - set(_PARAMETERS))
    if unknown:
        raise ApiError(400, f"unknown parameter(s) {', '.join(unknown)} (expected: {', '.join(_PARAMETERS)})")
    local = zone(tz)
    today = now.astimezone(local).date()
    first = _date(params.get("from", ""), "from", today)
    last = _date(params.get("to", ""), "to", first)
    if last < first:
        raise ApiError(400, "to: must not be before from")
    if (last - first).days >= MAX_DAYS:
        raise ApiError(400, f"a report covers at most {MAX_DAYS} days")
    raw_group = params.get("group", "") or ("interval" if first == last else "day")
    try:
        group = Grouping(raw_group)
    except ValueError:
        raise ApiError(400, f"group: one of {', '.join(g.value for g in Grouping)}") from None
    longest = _MAX_DAYS_BY.get(group, MAX_DAYS)
    if (last - first).days >= longest:
        raise ApiError(400, f"a report by {group} covers at most {longest} days: group by day for longer ranges")
    queue, agent = params.get("queue", ""), params.get("agent", "")
    queues: frozenset[str] | None = None
    if principal.role is Role.AGENT:
        if agent and agent != principal.extension:
            raise ApiError(403, "an agent's reports are their own figures")
        agent = principal.extension  # whatever was asked: their own figures only
    elif principal.role is Role.SUPERVISOR:
        queues = visible_queues(principal, dialplan)
    if queue:
        if queue not in dialplan.queues and principal.role is not Role.ADMIN:
            raise ApiError(404, f"no queue {queue!r}")
        if queues is not None and queue not in queues:
            raise ApiError(403, f"queue {queue!r} is not one of yours")
        queues = frozenset({queue})
    if agent and not may_see_agent(principal, dialplan, agent):
        raise ApiError(403, f"agent {agent} is not yours to see")
    shown: Shown = "sl_offered"
    if queue in dialplan.queues:
        shown = dialplan.queues[queue].service_level.shown
    start = datetime(first.year, first.month, first.day, tzinfo=local)
    following = last + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=local)
    try:
        query = ReportQuery(start, end, group, queues, agent or None, tz)
    except ReportError as error:
        raise ApiError(400, str(error)) from None
    return ReportAsk(query, first, last, shown, queue, agent)


REPORTS = web.AppKey("report_source", ReportSource)
REPORT_DIALPLAN: web.AppKey[Callable[[], Dialplan]] = web.AppKey("report_dialplan")


async def _rows(request: web.Request, params: Mapping[str, str]) -> tuple[ReportAsk, list[ReportRow]]:
    source = request.app[REPORTS]
    dialplan = request.app[REPORT_DIALPLAN]()
    ask = parse_report(params, request[PRINCIPAL], dialplan, source.tz, source.clock())
    async with source.engine.connect() as connection:
        rows = await report_async(connection, dialplan, ask.query, source.source)
    return ask, rows


async def _json(request: web.Request) -> web.Response:
    ask, rows = await _rows(request, request.query)
    data = [{**flat(row, ask.shown), "paused_by_reason": dict(row.agent_time.paused_by_reason)} for row in rows]
    return web.json_response(
        {"from": ask.first.isoformat(), "to": ask.last.isoformat(), "group": str(ask.query.by), "rows": data}
    )


async def _csv(request: web.Request) -> web.Response:
    ask, rows = await _rows(request, request.query)
    name = f"report-{ask.first.isoformat()}-{ask.last.isoformat()}-{ask.query.by}.csv"
    return web.Response(
        text=render_csv(rows, ask.shown),
        content_type="text/csv",
        headers={hdrs.CONTENT_DISPOSITION: f'attachment; filename="{name}"', hdrs.CACHE_CONTROL: "no-store"},
    )


def _label(row: ReportRow, by: Grouping) -> str:
    if row.start is None:
        return row.key
    if by is Grouping.DAY:
        return row.start.strftime("%m-%d")
    return row.start.strftime("%H:%M") if by is not Grouping.HOUR else row.start.strftime("%d %H:00")


async def _page(request: web.Request) -> web.Response:
    principal: Principal = request[PRINCIPAL]
    dialplan = request.app[REPORT_DIALPLAN]()
    params = {name: value for name, value in request.query.items() if value}
    try:
        ask, rows = await _rows(request, params)
    except ApiError as error:
        if error.status >= 500:
            raise
        return render(
            request,
            "reports.html",
            error.status,
            page="reports",
            error=error.message,
            **_form(principal, dialplan, params),
        )
    agents: list[ReportRow] = []
    if ask.query.by is not Grouping.AGENT:
        _, agents = await _rows(request, {**params, "group": "agent"})
    else:
        agents = rows
    labels = [_label(row, ask.query.by) for row in rows]
    charts = [
        bar_chart(
            f"Calls and service level ({ask.shown}) per {ask.query.by}",
            labels,
            [
                ("offered", [row.contacts.offered for row in rows]),
                ("answered", [row.contacts.answered for row in rows]),
            ],
            (f"SL ({ask.shown})", [cast(float | None, getattr(row.kpis, ask.shown)) for row in rows]),
        ),
        line_chart(f"AHT per {ask.query.by}", labels, [row.kpis.aht_seconds for row in rows], " s"),
    ]
    csv_query = urlencode([(name, value) for name, value in params.items() if name in _PARAMETERS])
    return render(
        request,
        "reports.html",
        page="reports",
        error="",
        charts=[Markup(chart) for chart in charts],  # built by charts.py, every text in it escaped
        rows=[flat(row, ask.shown) for row in rows],
        agent_rows=[flat(row, ask.shown) for row in agents],
        shown=ask.shown,
        csv_url="/api/reports.csv" + (f"?{csv_query}" if csv_query else ""),
        chosen={
            "from": ask.first.isoformat(),
            "to": ask.last.isoformat(),
            "group": str(ask.query.by),
            "queue": ask.queue,
            "agent": ask.agent,
        },
        **_form(principal, dialplan, params, with_chosen=False),
    )


def _form(
    principal: Principal, dialplan: Dialplan, params: Mapping[str, str], with_chosen: bool = True
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "groups": [g.value for g in Grouping],
        "queues": sorted(visible_queues(principal, dialplan)) if principal.role is not Role.AGENT else [],
        "agents": visible_agents(principal, dialplan) if principal.role is not Role.AGENT else [],
    }
    if with_chosen:
        context.update(
            charts=[],
            rows=[],
            agent_rows=[],
            shown="sl_offered",
            csv_url="",
            chosen={name: params.get(name, "") for name in _PARAMETERS},
        )
    return context


def add_report_routes(app: web.Application, source: ReportSource, dialplan: Callable[[], Dialplan]) -> None:
    app[REPORTS] = source
    app[REPORT_DIALPLAN] = dialplan
    app.router.add_get("/reports", _page)
    app.router.add_get("/api/reports", _json)
    app.router.add_get("/api/reports.csv", _csv)
