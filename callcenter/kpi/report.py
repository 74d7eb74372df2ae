"""Reports: rollup-shaped rows grouped by interval, hour, day, agent, queue or number, with the KPIs of each.

The rows come from the rollup tables or are computed from the raw records the same way
(``callcenter.store.reports`` does both); from here on both sources meet one code path, which is why a
report from the rollups equals one from the raw records. Three kinds of rows, all per 15-minute UTC
interval:

- ``ContactRow``: contact sums of one (interval, queue, line), or of one (interval, queue, agent) when the
  report is about agents (an agent grouping or one agent's own figures);
- ``AgentTimeSlice``: seconds of one (interval, agent, state, reason);
- ``CallRow``: call counts of one (interval, line), for IVR containment.

A query selects whole intervals: those starting in [start, end) once ``start`` is floored to an interval.
Hours and days are those of ``tz``: a 15-minute UTC interval always lies inside one local hour (every
zone's offset is a multiple of 15 minutes), so UTC rollups add up into any zone's hours and days, DST days
of 23 or 25 hours included.

Filters: ``queues`` keeps the contacts of those queues and the agent time of their members (per the
dialplan given); ``agent`` keeps that agent's contacts and time. IVR containment is per line and before
any queue, so it is shown only when neither filter is set. Agent time is per agent, not per queue or
line, so rows grouped by queue or number carry none.

Where the grouping is by time each row carries the staffed agents (mean count of logged-in, unpaused
agents) beside the Erlang C hint: the agents needed for the row's arrivals and AHT to reach ``goal``
within ``target_seconds`` over the row's period (of the selected queue when one is; else the defaults).

Pure: no I/O, no clock; stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.errors import ConfigError
from callcenter.kpi.agent_time import INTERVAL, AgentTimeSlice, AgentTimeTotals, interval_start, totals
from callcenter.kpi.erlang import StaffingHint, agents_needed
from callcenter.kpi.sums import CallSums, ContactSums, Kpis, kpis

__all__ = [
    "CallRow",
    "ContactRow",
    "Grouping",
    "HintSettings",
    "ReportError",
    "ReportQuery",
    "ReportRow",
    "agents_in_scope",
    "build_report",
    "zone",
]


class ReportError(ConfigError):
    """A report asked for something impossible: a bad range, an unknown time zone."""


class Grouping(StrEnum):
    INTERVAL = "interval"
    HOUR = "hour"
    DAY = "day"
    AGENT = "agent"
    QUEUE = "queue"
    NUMBER = "number"

    @property
    def by_time(self) -> bool:
        return self in (Grouping.INTERVAL, Grouping.HOUR, Grouping.DAY)


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name`` (IANA, e.g. Europe/Moscow); ReportError when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportError(f"unknown time zone {name!r}: expected an IANA name like UTC or Europe/Moscow") from None


@dataclass(frozen=True)
class ReportQuery:
    start: datetime  # aware; floored to its 15-minute interval
    end: datetime  # aware, exclusive
    by: Grouping = Grouping.INTERVAL
    queues: frozenset[str] | None = None  # only these queues (a supervisor's); None: all
    agent: str | None = None  # only this agent (an agent's own figures)
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ReportError("a report's start and end need a time zone (or be given as UTC)")
        if self.end <= self.start:
            raise ReportError(f"a report's end ({self.end.isoformat()}) must be after its start")
        if self.by is Grouping.NUMBER and self.agent is not None:
            # An agent's contacts are rolled up by (queue, agent), not by line: no honest split by number.
            raise ReportError("a report of one agent cannot be grouped by number: group by time, queue or agent")
        zone(self.tz)

    @property
    def first_interval(self) -> datetime:
        return interval_start(self.start)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)

    @property
    def about_agents(self) -> bool:
        """Whether contacts are read per (interval, queue, agent) rather than per (interval, queue, line)."""
        return self.by is Grouping.AGENT or self.agent is not None

    def selects(self, interval: datetime) -> bool:
        return self.first_interval <= interval < self.end_utc


@dataclass(frozen=True)
class ContactRow:
    interval: datetime
    queue: str
    key: str  # the line (number dialled), or the agent when the query is about agents
    sums: ContactSums


@dataclass(frozen=True)
class CallRow:
    interval: datetime
    line: str
    sums: CallSums


@dataclass(frozen=True)
class HintSettings:
    """What the staffing hint aims at, and who staffs which queue."""

    goal: float = 0.8
    target_seconds: float = 20.0
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)  # queue -> its agents


@dataclass(frozen=True)
class ReportRow:
    key: str  # the group: an ISO local time for time groupings, else the agent, queue or number
    start: datetime | None  # time groupings: the group's start in the query's zone
    contacts: ContactSums
    kpis: Kpis
    agent_time: AgentTimeTotals
    calls: CallSums
    staffed: float | None  # time groupings: mean logged-in, unpaused agents
    hint: StaffingHint | None  # time groupings: Erlang C agents needed

    @property
    def occupancy(self) -> float | None:
        return self.agent_time.occupancy

    @property
    def utilization(self) -> float | None:
        return self.agent_time.utilization

    @property
    def containment(self) -> float | None:
        return self.calls.containment


def build_report(
    query: ReportQuery,
    contact_rows: Iterable[ContactRow],
    agent_rows: Iterable[AgentTimeSlice],
    call_rows: Iterable[CallRow],
    settings: HintSettings = HintSettings(),
) -> list[ReportRow]:
    """The report's rows, ordered by time or by key; groups with no data at all are left out.

    ``agent_rows`` must be those of the agents in the query's scope (``agents_in_scope``): the caller
    selects them, so a database can sum them before they get here.
    """
    tz = zone(query.tz)
    contacts: dict[str, ContactSums] = {}
    times: dict[str, list[tuple[str, str, float]]] = {}
    calls: dict[str, CallSums] = {}
    starts: dict[str, datetime] = {}

    def group(interval: datetime, key: str) -> str:
        if not query.by.by_time:
            return key
        start = _group_start(interval, query.by, tz)
        label = start.isoformat()
        starts[label] = start
        return label

    for row in contact_rows:
        if not query.selects(row.interval) or (query.queues is not None and row.queue not in query.queues):
            continue
        if query.agent is not None and row.key != query.agent:
            continue
        name = group(row.interval, row.queue if query.by is Grouping.QUEUE else row.key)
        contacts[name] = contacts.get(name, ContactSums()) + row.sums
    if query.by in (Grouping.AGENT, Grouping.INTERVAL, Grouping.HOUR, Grouping.DAY):
        for piece in agent_rows:
            if not query.selects(piece.interval):
                continue
            name = group(piece.interval, piece.agent)
            times.setdefault(name, []).append((piece.state, piece.reason, piece.seconds))
    if (
        query.queues is None
        and query.agent is None
        and query.by
        in (
            Grouping.NUMBER,
            Grouping.INTERVAL,
            Grouping.HOUR,
            Grouping.DAY,
        )
    ):
        for call in call_rows:
            if not query.selects(call.interval):
                continue
            name = group(call.interval, call.line)
            calls[name] = calls.get(name, CallSums()) + call.sums

    rows = []
    for name in set(contacts) | set(times) | set(calls):
        sums = contacts.get(name, ContactSums())
        agent_time = totals(times.get(name, ()))
        start = starts.get(name)
        staffed = hint = None
        if start is not None:
            period = _period_seconds(start, query, tz)
            staffed = agent_time.staffed(period)
            hint = _hint(sums, period, settings)
        rows.append(ReportRow(name, start, sums, kpis(sums), agent_time, calls.get(name, CallSums()), staffed, hint))
    if query.by.by_time:
        rows.sort(key=lambda r: r.start.astimezone(UTC) if r.start is not None else datetime.min.replace(tzinfo=UTC))
    else:
        rows.sort(key=lambda r: r.key)
    return rows


def agents_in_scope(query: ReportQuery, settings: HintSettings) -> frozenset[str] | None:
    """The agents whose time a report counts: the one agent asked about, the members of the queues asked
    about, or everyone (None)."""
    if query.agent is not None:
        return frozenset({query.agent})
    if query.queues is not None:
        return frozenset(agent for queue in query.queues for agent in settings.members.get(queue, ()))
    return None


def _group_start(interval: datetime, by: Grouping, tz: ZoneInfo) -> datetime:
    local = interval.astimezone(tz)
    if by is Grouping.INTERVAL:
        return local
    if by is Grouping.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)  # keeps fold: the two 01:00 of a DST end differ
    return datetime(local.year, local.month, local.day, tzinfo=tz)


def _group_end(start: datetime, by: Grouping, tz: ZoneInfo) -> datetime:
    if by is Grouping.INTERVAL:
        return start.astimezone(UTC) + INTERVAL
    if by is Grouping.HOUR:
        return start.astimezone(UTC) + timedelta(hours=1)
    following = start.date() + timedelta(days=1)
    return datetime(following.year, following.month, following.day, tzinfo=tz).astimezone(UTC)


def _period_seconds(start: datetime, query: ReportQuery, tz: ZoneInfo) -> float:
    """The real seconds of the group that the query covers (a day's part when the range cuts it)."""
    begin = max(start.astimezone(UTC), query.first_interval)
    finish = min(_group_end(start, query.by, tz), query.end_utc)
    return (finish - begin).total_seconds()  # > 0: a selected interval starts before the query's end


def _hint(sums: ContactSums, period: float, settings: HintSettings) -> StaffingHint | None:
    aht = kpis(sums).aht_seconds
    arrivals = float(sums.offered - sums.short_abandoned)
    if arrivals <= 0:
        return agents_needed(0.0, 1.0, period, settings.goal, settings.target_seconds)
    if aht is None or aht <= 0:
        return None  # calls came but none was handled to the end: no handling time to staff for
    try:
        return agents_needed(arrivals, aht, period, settings.goal, settings.target_seconds)
    except ValueError:
        return None
