"""callcenter.kpi.agent_time: an agent's state history in 15-minute intervals; occupancy, utilization,
pause time by reason and staffed agents. Every figure is worked out by hand in the comments.

a1's evening, 2024-03-10 into 03-11 (UTC):

    23:50:00 available   23:55:00 ringing   23:55:10 on_call   00:05:10 wrap_up   00:05:30 available
    00:10:00 paused lunch   00:40:00 available   00:50:00 paused training   00:55:00 logged_out
    01:00:00 available (still open: counts nothing yet)
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callcenter.kpi.agent_time import AgentTimeSlice, AgentTimeTotals, agent_time, interval_start, totals
from callcenter.records import AgentEvent


def at(hms: str, day: int = 11) -> datetime:
    hours, minutes, seconds = (int(part) for part in hms.split(":"))
    return datetime(2024, 3, day, hours, minutes, seconds, tzinfo=UTC)


def ev(agent: str, when: datetime, state: str, reason: str = "") -> AgentEvent:
    return AgentEvent("pbx1", agent, state, reason, when)


A1 = [
    ev("a1", at("23:50:00", 10), "available"),
    ev("a1", at("23:55:00", 10), "ringing"),
    ev("a1", at("23:55:10", 10), "on_call"),
    ev("a1", at("00:05:10"), "wrap_up"),
    ev("a1", at("00:05:30"), "available"),
    ev("a1", at("00:10:00"), "paused", "lunch"),
    ev("a1", at("00:40:00"), "available"),
    ev("a1", at("00:50:00"), "paused", "training"),
    ev("a1", at("00:55:00"), "logged_out"),
    ev("a1", at("01:00:00"), "available"),
]


def test_spans_are_cut_at_interval_boundaries_and_midnight() -> None:
    assert agent_time(A1) == [
        # 23:45 (the 10th): available 23:50-23:55 300 s, ringing 10 s, on_call 23:55:10-00:00 290 s
        AgentTimeSlice(at("23:45:00", 10), "a1", "available", "", 300.0),
        AgentTimeSlice(at("23:45:00", 10), "a1", "on_call", "", 290.0),
        AgentTimeSlice(at("23:45:00", 10), "a1", "ringing", "", 10.0),
        # 00:00: on_call to 00:05:10 310 s, wrap_up 20 s, available 00:05:30-00:10 270 s, lunch 00:10-00:15
        AgentTimeSlice(at("00:00:00"), "a1", "available", "", 270.0),
        AgentTimeSlice(at("00:00:00"), "a1", "on_call", "", 310.0),
        AgentTimeSlice(at("00:00:00"), "a1", "paused", "lunch", 300.0),
        AgentTimeSlice(at("00:00:00"), "a1", "wrap_up", "", 20.0),
        AgentTimeSlice(at("00:15:00"), "a1", "paused", "lunch", 900.0),
        AgentTimeSlice(at("00:30:00"), "a1", "available", "", 300.0),  # 00:40-00:45
        AgentTimeSlice(at("00:30:00"), "a1", "paused", "lunch", 600.0),  # 00:30-00:40
        # 00:45: available 00:45-00:50, training 00:50-00:55; logged out 00:55-01:00 is not counted,
        # and the 01:00 span has no end yet
        AgentTimeSlice(at("00:45:00"), "a1", "available", "", 300.0),
        AgentTimeSlice(at("00:45:00"), "a1", "paused", "training", 300.0),
    ]


def test_occupancy_utilization_and_pauses_by_reason() -> None:
    t = totals((s.state, s.reason, s.seconds) for s in agent_time(A1))
    # on_call 290 + 310 = 600, wrap_up 20: handling 620; available 300 + 270 + 300 + 300 = 1170, ringing 10
    assert (t.on_call, t.wrap_up, t.available, t.ringing) == (600.0, 20.0, 1170.0, 10.0)
    assert t.paused_by_reason == {"lunch": 1800.0, "training": 300.0}
    assert (t.handling, t.idle, t.ready, t.paused, t.logged_in) == (620.0, 1180.0, 1800.0, 2100.0, 3900.0)
    assert t.occupancy == pytest.approx(620 / 1800)  # over logged-in, unpaused time
    assert t.utilization == pytest.approx(620 / 3900)  # pauses in the denominator


def test_staffed_agents_is_the_mean_count_of_ready_agents() -> None:
    a2 = [ev("a2", at("00:00:00"), "available"), ev("a2", at("00:07:30"), "logged_out")]
    slices = [s for s in agent_time(A1 + a2) if s.interval == at("00:00:00")]
    t = totals((s.state, s.reason, s.seconds) for s in slices)
    # a1 ready 310 + 20 + 270 = 600 s (the lunch pause is not staffing), a2 450 s: (600 + 450) / 900
    assert t.staffed(900) == pytest.approx(1050 / 900)
    with pytest.raises(ValueError):
        t.staffed(0)


def test_a_window_keeps_only_its_intervals_and_cuts_spans_at_its_edges() -> None:
    clipped = agent_time(A1, at("00:00:00"), at("00:30:00"))
    assert {s.interval for s in clipped} == {at("00:00:00"), at("00:15:00")}
    assert sum(s.seconds for s in clipped) == 310 + 20 + 270 + 300 + 900


def test_events_given_in_any_order_and_naive_times_as_utc() -> None:
    naive = [ev("a3", datetime(2024, 3, 11, 10, 14, 0), "available"), ev("a3", at("10:16:00"), "logged_out")]
    assert agent_time(list(reversed(naive))) == [
        AgentTimeSlice(at("10:00:00"), "a3", "available", "", 60.0),
        AgentTimeSlice(at("10:15:00"), "a3", "available", "", 60.0),
    ]
    assert interval_start(datetime(2024, 3, 11, 10, 14, 59)) == at("10:00:00")


def test_no_time_no_ratios_and_totals_add_up() -> None:
    empty = AgentTimeTotals()
    assert (empty.occupancy, empty.utilization) == (None, None)
    both = totals([("on_call", "", 60.0), ("paused", "lunch", 30.0)]) + totals([("paused", "lunch", 10.0)])
    assert (both.on_call, both.paused_by_reason) == (60.0, {"lunch": 40.0})
    assert both.utilization == pytest.approx(60 / 100)
