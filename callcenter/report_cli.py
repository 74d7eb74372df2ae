"""`callcenter report`: KPI reports from the rollups, and `callcenter report rebuild` of the rollups.

    callcenter report --from 2026-11-01 --to 2026-11-30 --by day --tz Europe/Moscow
    callcenter report --from "2026-11-24 09:00" --to "2026-11-24 18:00" --queue support --format csv
    callcenter report rebuild --from 2026-11-01          # after changing a queue's service_level

Dates and times without a zone are in ``--tz``; a bare date given to ``--to`` means the whole of that day.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine

from callcenter.config import Settings
from callcenter.dialplan.model import Dialplan
from callcenter.kpi.render import Shown, render
from callcenter.kpi.report import Grouping, ReportError, ReportQuery, zone

__all__ = ["add_report_commands", "parse_moment"]


def parse_moment(text: str, tz: str, *, end: bool = False) -> datetime:
    """An ISO date or date-time; without a zone it is in ``tz``. A bare date as an ``end`` is the next midnight."""
    where = zone(tz)
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(), where)
            return moment
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        option = "--to" if end else "--from"
        raise ReportError(
            f"{option} {text!r}: expected a date like 2026-11-24 or a time like '2026-11-24 09:00' (or with +03:00)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=where)


def _load_dialplan(settings: Settings) -> Dialplan | None:
    from callcenter.dialplan.loader import DialplanError, load_dialplan

    try:
        return load_dialplan(settings.dialplan_dir)
    except DialplanError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print("callcenter: the dialplan is invalid: its queues' thresholds are needed", file=sys.stderr)
        return None


def _cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "rebuild":
        return _cmd_rebuild(settings, args)
    if args.start is None or args.end is None:
        print("callcenter: report needs --from and --to", file=sys.stderr)
        return 2
    query = ReportQuery(
        parse_moment(args.start, args.tz),
        parse_moment(args.end, args.tz, end=True),
        Grouping(args.by),
        frozenset(args.queue) if args.queue else None,
        args.agent,
        args.tz,
    )
    dialplan = _load_dialplan(settings)
    if dialplan is None:
        return 1
    from callcenter.cli import _with_database  # cli.py imports this module: imported when used
    from callcenter.store.reports import report

    shown: Shown = "sl_offered"
    if args.queue and len(args.queue) == 1 and args.queue[0] in dialplan.queues:
        shown = dialplan.queues[args.queue[0]].service_level.shown

    def work(engine: Engine) -> int:
        with engine.connect() as connection:
            rows = report(connection, dialplan, query, args.source)
        sys.stdout.write(render(rows, args.format, shown))
        return 0

    return _with_database(settings, "read the report", work)


def _cmd_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    start = parse_moment(args.start, args.tz) if args.start else None
    end = parse_moment(args.end, args.tz, end=True) if args.end else None
    if start is not None and end is not None and end <= start:
        raise ReportError("--to must be after --from")
    dialplan = _load_dialplan(settings)
    if dialplan is None:
        return 1
    from callcenter.cli import _with_database  # cli.py imports this module: imported when used
    from callcenter.store.rollups import rebuild

    def work(engine: Engine) -> int:
        with engine.begin() as connection:
            done = rebuild(connection, dialplan, start, end)
        span = f"{start.astimezone(UTC).isoformat() if start else 'the first record'} to "
        span += end.astimezone(UTC).isoformat() if end else "the last"
        print(f"rollups rebuilt from {span}: {done.calls} call(s), {done.contacts} queue contact(s)")
        return 0

    return _with_database(settings, "rebuild the rollups", work)


def add_report_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "report",
        help="KPIs per interval, hour, day, agent, queue or number; `report rebuild` remakes the rollups",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", nargs="?", choices=["rebuild"], help="rebuild the rollups from the raw records")
    parser.add_argument("--from", dest="start", metavar="WHEN", help="first day or time (in --tz unless zoned)")
    parser.add_argument("--to", dest="end", metavar="WHEN", help="last day (whole) or time (exclusive)")
    parser.add_argument("--queue", action="append", metavar="Q", help="only this queue (repeat for several)")
    parser.add_argument("--agent", metavar="EXT", help="only this agent's contacts and time")
    parser.add_argument("--by", choices=[g.value for g in Grouping], default="interval", help="rows per (interval)")
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
    parser.add_argument("--tz", default="UTC", metavar="ZONE", help="hours and days in this zone (default UTC)")
    parser.add_argument("--source", choices=["rollups", "raw"], default="rollups", help=argparse.SUPPRESS)
    parser.set_defaults(handler=_cmd_report)
