"""callcenter.kpi.report and render: rollup rows grouped into hours and days of any zone, filters, hints."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from callcenter.errors import ConfigError
from callcenter.kpi.agent_time import AgentTimeSlice
from callcenter.kpi.erlang import agents_needed
from callcenter.kpi.render import flat, render
from callcenter.kpi.report import (
    CallRow,
    ContactRow,
    Grouping,
    HintSettings,
    ReportError,
    ReportQuery,
    agents_in_scope,
    build_report,
)
from callcenter.kpi.sums import CallSums, ContactSums

L1, L2 = "+78001000001", "+78001000002"


def utc(day: int, hm: str, month: int = 3) -> datetime:
    hours, minutes = (int(part) for part in hm.split(":"))
    return datetime(2024, month, day, hours, minutes, tzinfo=UTC)


def handled(n: int, wait: float = 10.0, talk: float = 150.0, wrap: float = 30.0) -> ContactSums:
    """n answered and handled contacts, each with this wait, talk and wrap-up."""
    return ContactSums(
        offered=n, answered=n, answered_within_target=n if wait <= 20 else 0, handled=n, talk_seconds=n * talk,
        wrapup_seconds=n * wrap, answered_wait_seconds=n * wait, resolved=n, max_wait_seconds=wait,
    )  # fmt: skip


CONTACTS = [
    ContactRow(utc(10, "23:45"), "sales", L1, handled(4)),
    ContactRow(utc(11, "00:00"), "sales", L1, handled(6)),
    ContactRow(utc(11, "00:00"), "support", L2, handled(2, wait=40)),
    ContactRow(utc(11, "00:15"), "support", L1, handled(10)),
]
TIME = [
    AgentTimeSlice(utc(11, "00:00"), "a1", "on_call", "", 600.0),
    AgentTimeSlice(utc(11, "00:00"), "a1", "available", "", 300.0),
    AgentTimeSlice(utc(11, "00:00"), "a2", "paused", "lunch", 900.0),
    AgentTimeSlice(utc(11, "00:15"), "a2", "available", "", 900.0),
]
CALLS = [CallRow(utc(11, "00:00"), L1, CallSums(10, 8, 2)), CallRow(utc(11, "00:15"), L2, CallSums(4, 2, 1))]
MEMBERS = HintSettings(members={"sales": frozenset({"a1"}), "support": frozenset({"a2"})})


def query(by: Grouping, tz: str = "UTC", **filters: object) -> ReportQuery:
    return ReportQuery(utc(10, "23:00"), utc(11, "01:00"), by, tz=tz, **filters)  # type: ignore[arg-type]


def test_hours_of_a_zone_fifteen_minutes_off_the_hour() -> None:
    # Kathmandu is +05:45: 23:45 UTC is 05:30 and 00:00 is 05:45 (hour 05), 00:15 is 06:00 (hour 06)
    rows = build_report(query(Grouping.HOUR, "Asia/Kathmandu"), CONTACTS, TIME, CALLS, MEMBERS)
    assert [(r.key, r.contacts.offered) for r in rows] == [
        ("2024-03-11T05:00:00+05:45", 12),
        ("2024-03-11T06:00:00+05:45", 10),
    ]
    first = rows[0]
    # a1 on_call 600 + available 300 ready; a2 paused: staffed 900 s over the hour's 3600 s
    assert first.staffed == pytest.approx(900 / 3600)
    assert first.occupancy == pytest.approx(600 / 900)
    assert first.utilization == pytest.approx(600 / 1800)
    assert first.agent_time.paused_by_reason == {"lunch": 900.0}
    # 12 offered in the hour, AHT (talk 150 + wrap 30) = 180 s, goal 80 % in 20 s
    assert first.hint == agents_needed(12, 180.0, 3600, 0.8, 20)
    assert first.containment == pytest.approx(2 / 8)
    # the range ends at 01:00 UTC = 06:45 local: the 06:00 hour is covered for 45 minutes
    assert rows[1].staffed == pytest.approx(900 / 2700)


def test_days_of_a_dst_change_have_their_real_length() -> None:
    # Berlin went to summer time on 2024-03-31: that day is 23 hours long, 2024-03-30T23:00Z to 03-31T22:00Z.
    rows_in = [
        ContactRow(utc(30, "22:45", 3), "sales", L1, handled(1)),  # 23:45 CET on the 30th
        ContactRow(utc(30, "23:00", 3), "sales", L1, handled(2)),  # 00:00 CET on the 31st
        ContactRow(utc(31, "21:45", 3), "sales", L1, handled(3)),  # 23:45 CEST on the 31st
        ContactRow(utc(31, "22:00", 3), "sales", L1, handled(4)),  # 00:00 CEST on April 1st
    ]
    time_in = [AgentTimeSlice(utc(31, "12:00", 3), "a1", "available", "", 8280.0)]
    q = ReportQuery(utc(30, "00:00"), utc(2, "00:00", 4), Grouping.DAY, tz="Europe/Berlin")
    rows = build_report(q, rows_in, time_in, [])
    assert [(r.key, r.contacts.offered) for r in rows] == [
        ("2024-03-30T00:00:00+01:00", 1),
        ("2024-03-31T00:00:00+01:00", 5),
        ("2024-04-01T00:00:00+02:00", 4),
    ]
    assert rows[1].staffed == pytest.approx(8280 / (23 * 3600))


def in_scope(q: ReportQuery, settings: HintSettings) -> list[AgentTimeSlice]:
    """The agent time a caller of build_report hands it: only the agents the query is about."""
    agents = agents_in_scope(q, settings)
    return [piece for piece in TIME if agents is None or piece.agent in agents]


def test_a_supervisors_queues_keep_their_contacts_and_their_members_time() -> None:
    supervisor = query(Grouping.INTERVAL, queues=frozenset({"support"}))
    rows = build_report(supervisor, CONTACTS, in_scope(supervisor, MEMBERS), CALLS, MEMBERS)
    assert [(r.key, r.contacts.offered) for r in rows] == [
        ("2024-03-11T00:00:00+00:00", 2),
        ("2024-03-11T00:15:00+00:00", 10),
    ]
    assert rows[0].agent_time.paused == 900.0 and rows[0].agent_time.on_call == 0.0  # a2 only
    assert rows[0].containment is None  # containment is before any queue: not for a queue's report


def test_by_queue_by_number_and_by_agent() -> None:
    by_queue = build_report(query(Grouping.QUEUE), CONTACTS, TIME, CALLS)
    assert [(r.key, r.contacts.offered, r.kpis.sl_offered) for r in by_queue] == [
        ("sales", 10, 1.0),
        ("support", 12, pytest.approx(10 / 12)),  # the 2 that waited 40 s missed T
    ]
    assert all(r.staffed is None and r.hint is None for r in by_queue)
    by_number = build_report(query(Grouping.NUMBER), CONTACTS, TIME, CALLS)
    assert [(r.key, r.contacts.offered, r.calls.ivr_calls) for r in by_number] == [(L1, 20, 8), (L2, 2, 2)]
    agent_rows = [ContactRow(utc(11, "00:00"), "sales", "a1", handled(6))]
    by_agent = build_report(query(Grouping.AGENT), agent_rows, TIME, CALLS)
    assert [(r.key, r.contacts.answered, r.occupancy) for r in by_agent] == [
        ("a1", 6, pytest.approx(600 / 900)),
        ("a2", 0, 0.0),  # a2 handled nothing while available
    ]
    own = query(Grouping.DAY, agent="a2")
    mine = build_report(own, agent_rows, in_scope(own, HintSettings()), CALLS)
    assert [(r.contacts.offered, r.agent_time.paused) for r in mine] == [(0, 900.0)]


def test_a_query_refuses_what_it_cannot_answer() -> None:
    with pytest.raises(ReportError, match="after its start"):
        ReportQuery(utc(11, "01:00"), utc(11, "01:00"))
    with pytest.raises(ReportError, match="time zone"):
        ReportQuery(datetime(2024, 3, 11), datetime(2024, 3, 12))
    with pytest.raises(ReportError, match="cannot be grouped by number"):
        ReportQuery(utc(11, "00:00"), utc(11, "01:00"), Grouping.NUMBER, agent="a1")  # rolled up by agent, not line
    with pytest.raises(ConfigError, match="unknown time zone 'Europe/Atlantis'"):
        ReportQuery(utc(11, "00:00"), utc(11, "01:00"), tz="Europe/Atlantis")
    # an interval starting before the range's (floored) start or at its end is outside
    rows = build_report(ReportQuery(utc(11, "00:05"), utc(11, "00:15")), CONTACTS, [], [])
    assert [(r.key, r.contacts.offered) for r in rows] == [("2024-03-11T00:00:00+00:00", 8)]


def test_rendering_as_table_csv_and_json() -> None:
    rows = build_report(query(Grouping.HOUR), CONTACTS, TIME, CALLS, MEMBERS)
    table = render(rows, "table", "sl_answered").splitlines()
    assert "SL (sl_answered)" in table[0]
    assert table[1].split()[:5] == ["2024-03-10T23:00:00+00:00", "4", "4", "0", "100.0%"]
    assert render([], "table").splitlines()[-1] == "(no data in this range)"
    records = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert [r["offered"] for r in records] == ["4", "18"]
    assert records[0]["containment"] == ""  # None is an empty cell
    data = json.loads(render(rows, "json"))
    assert data[1]["paused_by_reason"] == {"lunch": 900.0}
    assert data[1]["agents_needed"] == flat(rows[1])["agents_needed"]
    assert data[1]["fcr"] == 1.0 and data[0]["occupancy"] is None


def test_a_csv_cell_an_agent_typed_cannot_run_as_a_spreadsheet_formula() -> None:
    time = [AgentTimeSlice(utc(11, "00:00"), "a1", "paused", '=HYPERLINK("//x.example/a","ok")', 60.0)]
    rows = build_report(query(Grouping.AGENT), [], time, [])
    [record] = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert record["paused_by_reason"].startswith("'")
    lines = [ContactRow(utc(11, "00:00"), "sales", "+78005553535", handled(1))]
    [by_line] = list(csv.DictReader(io.StringIO(render(build_report(query(Grouping.NUMBER), lines, [], []), "csv"))))
    assert by_line["group"] == "+78005553535"  # a phone number stays a number
