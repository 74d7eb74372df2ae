"""callcenter.kpi.erlang: Erlang C staffing hints per interval (GUIDE §3, "Erlang C").

Theory of operation
-------------------
Erlang C models one queue with Poisson arrivals, exponential handling times, N identical agents and
callers who never hang up. With offered traffic A = arrivals * AHT / interval (in Erlangs):

- C(N, A), the probability that a call waits, comes from Erlang B, whose recursion
  B(0) = 1, B(n) = A*B(n-1) / (n + A*B(n-1)) keeps every term in (0, 1]; the textbook closed form with
  A^N / N! overflows a float near N = 170, long before a large queue's agent count.
  Then C = N*B / (N - A*(1 - B)).
- Service level within T seconds: 1 - C*exp(-(N - A)*T / AHT).
- Average speed of answer: C*AHT / (N - A).

With N <= A the queue grows without bound: C = 1, service level 0, ASA infinite. With A = 0 no call ever
arrives, so none waits (C = 0, service level 1, ASA 0) whatever N is; this is what a zero-arrivals
interval needs. The service level computed here is the model's answered-within-T share with no
abandons, closest to `sl_offered` when abandons are few. Erlang C ignores abandons, so it over-staffs a
little: the hint errs on the safe side.

Pure: no I/O, no clock, stdlib only. Bad input raises ValueError, as the math module does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "StaffingHint",
    "agents_needed",
    "average_speed_of_answer",
    "erlang_c",
    "service_level",
    "traffic_erlangs",
]


@dataclass(frozen=True, slots=True)
class StaffingHint:
    """The fewest agents meeting a service level target in one interval, and what they achieve."""

    agents: int
    traffic: float  # offered load in Erlangs
    service_level: float  # share of calls answered within the target, 0..1
    asa_seconds: float  # average speed of answer, over all calls (those not waiting count as 0)
    occupancy: float  # traffic / agents, 0..1


def _finite(name: str, value: float, *, positive: bool = False) -> float:
    # NaN slips through every comparison, and inf makes the formulas meaningless: reject both up front.
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise ValueError(f"{name} must be {kind} finite number, got {value!r}")
    return float(value)


def _count(name: str, value: int) -> int:
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _erlang_b_series(traffic: float) -> Iterator[tuple[int, float]]:
    """Yield (n, B(n, traffic)) for n = 1, 2, …; one pass serves a whole agent search in O(N)."""
    b = 1.0
    n = 0
    while True:
        n += 1
        b = traffic * b / (n + traffic * b)
        yield n, b


def _c_from_b(agents: int, traffic: float, b: float) -> float:
    # Valid only for agents > traffic; callers check stability first.
    return agents * b / (agents - traffic * (1.0 - b))


def _sl_from_c(agents: int, traffic: float, c: float, aht_seconds: float, target_seconds: float) -> float:
    return 1.0 - c * math.exp(-(agents - traffic) * target_seconds / aht_seconds)


def traffic_erlangs(arrivals: float, aht_seconds: float, interval_seconds: float) -> float:
    """Offered load in Erlangs: the handling time arriving in the interval / the interval's length."""
    arrivals = _finite("arrivals", arrivals)
    aht_seconds = _finite("aht_seconds", aht_seconds, positive=True)
    interval_seconds = _finite("interval_seconds", interval_seconds, positive=True)
    return arrivals * aht_seconds / interval_seconds


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a call waits: 1.0 when agents <= traffic (unstable), 0.0 when traffic is 0."""
    agents = _count("agents", agents)
    traffic = _finite("traffic", traffic)
    if traffic == 0.0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return _c_from_b(agents, traffic, b)


def service_level(agents: int, traffic: float, aht_seconds: float, target_seconds: float) -> float:
    """Share of calls answered within target_seconds: 0.0 when agents <= traffic, 1.0 when traffic is 0."""
    aht_seconds = _finite("aht_seconds", aht_seconds, positive=True)
    target_seconds = _finite("target_seconds", target_seconds)
    c = erlang_c(agents, traffic)
    if traffic == 0.0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return _sl_from_c(agents, traffic, c, aht_seconds, target_seconds)


def average_speed_of_answer(agents: int, traffic: float, aht_seconds: float) -> float:
    """Mean wait in seconds over all calls: inf when agents <= traffic, 0.0 when traffic is 0."""
    aht_seconds = _finite("aht_seconds", aht_seconds, positive=True)
    c = erlang_c(agents, traffic)
    if traffic == 0.0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return c * aht_seconds / (agents - traffic)


def agents_needed(
    arrivals: float,
    aht_seconds: float,
    interval_seconds: float,
    target_level: float,
    target_seconds: float,
    max_occupancy: float | None = None,
    max_agents: int = 10_000,
) -> StaffingHint:
    """The fewest agents whose service level within target_seconds is at least target_level (0..1),
    and whose occupancy stays at or under max_occupancy (0..1] when given.

    Raises ValueError on bad input, or when even max_agents agents cannot meet the target (which bounds
    the search, e.g. for a target level of 1.0 that the model only reaches through float rounding).
    """
    traffic = traffic_erlangs(arrivals, aht_seconds, interval_seconds)
    target_level = _finite("target_level", target_level)
    target_seconds = _finite("target_seconds", target_seconds)
    max_agents = _count("max_agents", max_agents)
    if target_level > 1.0:
        raise ValueError(f"target_level is a share and must be at most 1, got {target_level!r}")
    if max_occupancy is not None:
        max_occupancy = _finite("max_occupancy", max_occupancy, positive=True)
        if max_occupancy > 1.0:
            raise ValueError(f"max_occupancy is a share and must be at most 1, got {max_occupancy!r}")
    if traffic == 0.0:
        # No calls: nobody is needed, and nobody waits.
        return StaffingHint(agents=0, traffic=0.0, service_level=1.0, asa_seconds=0.0, occupancy=0.0)

    for n, b in _erlang_b_series(traffic):
        if n > max_agents:
            break
        if n <= traffic or (max_occupancy is not None and traffic / n > max_occupancy):
            continue
        c = _c_from_b(n, traffic, b)
        level = _sl_from_c(n, traffic, c, aht_seconds, target_seconds)
        if level >= target_level:
            return StaffingHint(
                agents=n,
                traffic=traffic,
                service_level=level,
                asa_seconds=c * aht_seconds / (n - traffic),
                occupancy=traffic / n,
            )
    raise ValueError(
        f"no staffing up to max_agents={max_agents} reaches {target_level:.1%} within {target_seconds:g} s"
        f" at {traffic:g} Erlangs"
    )
