"""callcenter.kpi.erlang: Erlang C against the textbook closed form, its edges, and large queues."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from callcenter.kpi.erlang import (
    StaffingHint,
    agents_needed,
    average_speed_of_answer,
    erlang_c,
    service_level,
    traffic_erlangs,
)

# The textbook interval: 100 calls in 30 minutes, 180 s AHT, target 80 % answered within 20 s.
ARRIVALS, AHT, INTERVAL, TARGET_LEVEL, TARGET_S = 100.0, 180.0, 1800.0, 0.8, 20.0


def closed_form_erlang_c(agents: int, traffic: float) -> float:
    """The classic formula, written the obvious way; fine for small N, overflows past N ≈ 170."""
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    bottom = sum(traffic**k / math.factorial(k) for k in range(agents)) + top
    return top / bottom


def log_space_erlang_c(agents: int, traffic: float) -> float:
    """The same closed form in logarithms, so it can check the recursion at thousands of agents."""
    logs = [k * math.log(traffic) - math.lgamma(k + 1) for k in range(agents)]
    log_top = agents * math.log(traffic) - math.lgamma(agents + 1) + math.log(agents / (agents - traffic))
    peak = max([*logs, log_top])
    bottom = sum(math.exp(x - peak) for x in logs) + math.exp(log_top - peak)
    return math.exp(log_top - peak) / bottom


def test_textbook_interval_is_ten_erlangs() -> None:
    assert traffic_erlangs(ARRIVALS, AHT, INTERVAL) == pytest.approx(10.0)


@pytest.mark.parametrize("agents", range(11, 31))
def test_erlang_c_matches_the_closed_form(agents: int) -> None:
    assert erlang_c(agents, 10.0) == pytest.approx(closed_form_erlang_c(agents, 10.0), rel=1e-12)


def test_textbook_figures() -> None:
    assert erlang_c(13, 10.0) == pytest.approx(0.2853, abs=1e-4)
    assert service_level(13, 10.0, AHT, TARGET_S) == pytest.approx(0.7956, abs=1e-4)
    assert service_level(14, 10.0, AHT, TARGET_S) == pytest.approx(0.8884, abs=1e-4)
    assert average_speed_of_answer(14, 10.0, AHT) == pytest.approx(7.836, abs=1e-3)


def test_textbook_80_in_20_needs_14_agents_because_13_give_79_6_percent() -> None:
    hint = agents_needed(ARRIVALS, AHT, INTERVAL, TARGET_LEVEL, TARGET_S)
    expected_level = 1 - closed_form_erlang_c(14, 10.0) * math.exp(-(14 - 10) * TARGET_S / AHT)
    assert hint.agents == 14
    assert hint.traffic == pytest.approx(10.0)
    assert hint.service_level == pytest.approx(expected_level, rel=1e-12)
    assert hint.asa_seconds == pytest.approx(closed_form_erlang_c(14, 10.0) * AHT / 4, rel=1e-12)
    assert hint.occupancy == pytest.approx(10 / 14)


def test_more_agents_never_lower_the_service_level_or_raise_the_wait() -> None:
    for traffic in (0.5, 3.7, 10.0, 48.2, 250.0):
        levels = [service_level(n, traffic, AHT, TARGET_S) for n in range(0, int(traffic) + 60)]
        waits = [average_speed_of_answer(n, traffic, AHT) for n in range(0, int(traffic) + 60)]
        assert levels == sorted(levels)
        assert waits == sorted(waits, reverse=True)


def test_a_service_level_exactly_at_the_target_is_met() -> None:
    exactly = service_level(14, 10.0, AHT, TARGET_S)
    assert agents_needed(ARRIVALS, AHT, INTERVAL, exactly, TARGET_S).agents == 14
    assert agents_needed(ARRIVALS, AHT, INTERVAL, math.nextafter(exactly, 1.0), TARGET_S).agents == 15


def test_agents_at_or_below_the_traffic_make_an_unstable_queue() -> None:
    for agents in (0, 5, 10):
        assert erlang_c(agents, 10.0) == 1.0
        assert service_level(agents, 10.0, AHT, TARGET_S) == 0.0
        assert average_speed_of_answer(agents, 10.0, AHT) == math.inf
    # Even a target of 0 % needs a stable queue: the hint never staffs at or below the traffic.
    assert agents_needed(ARRIVALS, AHT, INTERVAL, 0.0, TARGET_S).agents == 11


def test_zero_arrivals_need_no_agents_and_nobody_waits() -> None:
    assert agents_needed(0, AHT, INTERVAL, TARGET_LEVEL, TARGET_S) == StaffingHint(
        agents=0, traffic=0.0, service_level=1.0, asa_seconds=0.0, occupancy=0.0
    )
    assert erlang_c(0, 0.0) == 0.0
    assert service_level(3, 0.0, AHT, TARGET_S) == 1.0
    assert average_speed_of_answer(3, 0.0, AHT) == 0.0


def test_an_occupancy_cap_raises_the_agent_count() -> None:
    # 14 agents meet 80/20 at 71.4 % occupancy; a 70 % cap needs ceil(10 / 0.7) = 15.
    hint = agents_needed(ARRIVALS, AHT, INTERVAL, TARGET_LEVEL, TARGET_S, max_occupancy=0.7)
    assert hint.agents == 15
    assert hint.occupancy <= 0.7
    # A loose cap changes nothing.
    assert agents_needed(ARRIVALS, AHT, INTERVAL, TARGET_LEVEL, TARGET_S, max_occupancy=0.9).agents == 14


def test_two_thousand_erlangs_stay_finite_and_fast() -> None:
    arrivals = 2000 * INTERVAL / AHT
    started = time.perf_counter()
    hint = agents_needed(arrivals, AHT, INTERVAL, TARGET_LEVEL, TARGET_S)
    elapsed = time.perf_counter() - started
    assert hint.traffic == pytest.approx(2000.0)
    assert 2000 < hint.agents < 2100
    assert TARGET_LEVEL <= hint.service_level < 1.0
    assert math.isfinite(hint.asa_seconds)
    assert service_level(hint.agents - 1, hint.traffic, AHT, TARGET_S) < TARGET_LEVEL
    assert erlang_c(hint.agents, hint.traffic) == pytest.approx(log_space_erlang_c(hint.agents, 2000.0), rel=1e-9)
    assert elapsed < 1.0  # one O(N) pass; generous for a slow CI machine


def test_an_unreachable_target_within_max_agents_raises() -> None:
    with pytest.raises(ValueError, match="max_agents=13"):
        agents_needed(ARRIVALS, AHT, INTERVAL, TARGET_LEVEL, TARGET_S, max_agents=13)


@pytest.mark.parametrize(
    "call",
    [
        lambda: traffic_erlangs(-1, AHT, INTERVAL),
        lambda: traffic_erlangs(100, 0, INTERVAL),
        lambda: traffic_erlangs(100, AHT, 0),
        lambda: traffic_erlangs(math.nan, AHT, INTERVAL),
        lambda: erlang_c(-1, 10.0),
        lambda: erlang_c(12, -0.5),
        lambda: erlang_c(12, math.inf),
        lambda: service_level(12, 10.0, AHT, -1),
        lambda: service_level(12, 10.0, -180, TARGET_S),
        lambda: average_speed_of_answer(12, 10.0, 0),
        lambda: agents_needed(ARRIVALS, AHT, INTERVAL, 1.5, TARGET_S),
        lambda: agents_needed(ARRIVALS, AHT, INTERVAL, -0.1, TARGET_S),
        lambda: agents_needed(ARRIVALS, AHT, INTERVAL, TARGET_LEVEL, TARGET_S, max_occupancy=0.0),
        lambda: agents_needed(ARRIVALS, AHT, INTERVAL, TARGET_LEVEL, TARGET_S, max_occupancy=1.2),
        lambda: agents_needed(ARRIVALS, AHT, INTERVAL, TARGET_LEVEL, TARGET_S, max_agents=-1),
    ],
)
def test_bad_input_raises_value_error(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_the_module_stays_pure() -> None:
    probe = (
        "import json, sys, callcenter.kpi.erlang; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('asyncio', 'aiohttp', 'panoramisk', 'sqlalchemy', 'psycopg', 'socket'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30)
    assert json.loads(result.stdout) == []
