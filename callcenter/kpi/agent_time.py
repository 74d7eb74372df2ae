"""Agent time: an agent's state history cut into 15-minute intervals, and the ratios over it (GUIDE §3).

Theory of operation
-------------------
An agent's state changes (``AgentEvent``s: logged_out, available, ringing, on_call, wrap_up, paused with a
reason) are ordered by time. Each change opens a *span* that the agent's next change closes; the last
change's span is still open and counts nothing until the next change tells when it ended, so a figure
never depends on when it was computed (a rollup made now and a rebuild made tomorrow agree). Spans are
cut at interval boundaries (UTC-aligned, so at midnight too) into ``AgentTimeSlice``s: seconds per
(interval, agent, state, reason). The reason is kept for pauses only.

From the seconds by state (``AgentTimeTotals``, additive, so any grouping sums them):

- handling = on_call + wrap_up (hold happens inside on_call: the agent state does not change on hold);
- idle = available + ringing (ringing is an offer not yet answered: the agent is still waiting for work);
- logged in = everything but logged_out; paused = the paused states, by reason;
- **occupancy** = handling ÷ (handling + idle): over logged-in, unpaused time;
- **utilization** = handling ÷ logged in: pauses are in the denominator;
- **staffed agents** in a period = unpaused logged-in seconds ÷ the period's seconds: the mean count of
  agents ready or working, which is what an Erlang C staffing hint is compared with.

Pure: no I/O, no clock; stdlib and ``callcenter.records`` only.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from callcenter.records import AgentEvent

__all__ = [
    "HANDLING_STATES",
    "IDLE_STATES",
    "INTERVAL",
    "AgentTimeSlice",
    "AgentTimeTotals",
    "agent_time",
    "interval_start",
    "totals",
]

INTERVAL = timedelta(minutes=15)
HANDLING_STATES = frozenset({"on_call", "wrap_up"})
IDLE_STATES = frozenset({"available", "ringing"})
_PAUSED = "paused"
_LOGGED_OUT = "logged_out"


def interval_start(at: datetime, width: timedelta = INTERVAL) -> datetime:
    """The start (UTC) of the ``width`` interval holding ``at``, aligned from midnight UTC; naive is UTC."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((at - midnight) // width) * width


@dataclass(frozen=True)
class AgentTimeSlice:
    """Seconds one agent spent in one state (and pause reason) within one interval."""

    interval: datetime
    agent: str
    state: str
    reason: str
    seconds: float


def agent_time(
    events: Sequence[AgentEvent], start: datetime | None = None, end: datetime | None = None
) -> list[AgentTimeSlice]:
    """The closed spans of ``events`` (any agents, any order) cut into intervals, clipped to [start, end).

    Events of one agent at the same instant keep their given order (the later one wins the instant).
    Slices are merged per (interval, agent, state, reason) and returned sorted by those.
    """
    by_agent: dict[str, list[AgentEvent]] = {}
    for event in events:
        by_agent.setdefault(event.agent, []).append(event)
    seconds: dict[tuple[datetime, str, str, str], float] = {}
    for agent, history in by_agent.items():
        history = sorted(history, key=lambda e: _utc(e.at))
        for current, following in itertools.pairwise(history):
            if current.state == _LOGGED_OUT:
                continue
            reason = current.reason if current.state == _PAUSED else ""
            begin, finish = _utc(current.at), _utc(following.at)
            if start is not None:
                begin = max(begin, start)
            if end is not None:
                finish = min(finish, end)
            for interval, part in _split(begin, finish):
                key = (interval, agent, current.state, reason)
                seconds[key] = seconds.get(key, 0.0) + part
    return [AgentTimeSlice(*key, value) for key, value in sorted(seconds.items()) if value > 0]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _split(begin: datetime, finish: datetime) -> Iterable[tuple[datetime, float]]:
    """(interval start, seconds) of the span [begin, finish) cut at every interval boundary."""
    while begin < finish:
        interval = interval_start(begin)
        cut = min(finish, interval + INTERVAL)
        yield interval, (cut - begin).total_seconds()
        begin = cut


@dataclass(frozen=True)
class AgentTimeTotals:
    """Seconds by state summed over any selection of slices (agents, intervals); additive."""

    on_call: float = 0.0
    wrap_up: float = 0.0
    available: float = 0.0
    ringing: float = 0.0
    paused_by_reason: Mapping[str, float] = field(default_factory=dict)

    @property
    def handling(self) -> float:
        return self.on_call + self.wrap_up

    @property
    def idle(self) -> float:
        return self.available + self.ringing

    @property
    def paused(self) -> float:
        return sum(self.paused_by_reason.values())

    @property
    def ready(self) -> float:
        """Logged in and not paused: the time an agent was staffing the queues."""
        return self.handling + self.idle

    @property
    def logged_in(self) -> float:
        return self.ready + self.paused

    @property
    def occupancy(self) -> float | None:
        return self.handling / self.ready if self.ready else None

    @property
    def utilization(self) -> float | None:
        return self.handling / self.logged_in if self.logged_in else None

    def staffed(self, period_seconds: float) -> float:
        """Mean count of logged-in, unpaused agents over a period of that many seconds."""
        if period_seconds <= 0:
            raise ValueError(f"a period must be positive, not {period_seconds!r} s")
        return self.ready / period_seconds

    def __add__(self, other: AgentTimeTotals) -> AgentTimeTotals:
        reasons = dict(self.paused_by_reason)
        for reason, value in other.paused_by_reason.items():
            reasons[reason] = reasons.get(reason, 0.0) + value
        return AgentTimeTotals(
            self.on_call + other.on_call,
            self.wrap_up + other.wrap_up,
            self.available + other.available,
            self.ringing + other.ringing,
            reasons,
        )


def totals(slices: Iterable[tuple[str, str, float]]) -> AgentTimeTotals:
    """The totals of (state, reason, seconds) triples (slices or rollup rows); unknown states are ignored."""
    by_state: dict[str, float] = {}
    reasons: dict[str, float] = {}
    for state, reason, seconds in slices:
        if state == _PAUSED:
            reasons[reason] = reasons.get(reason, 0.0) + seconds
        else:
            by_state[state] = by_state.get(state, 0.0) + seconds
    return AgentTimeTotals(
        on_call=by_state.get("on_call", 0.0),
        wrap_up=by_state.get("wrap_up", 0.0),
        available=by_state.get("available", 0.0),
        ringing=by_state.get("ringing", 0.0),
        paused_by_reason=dict(sorted(reasons.items())),
    )
