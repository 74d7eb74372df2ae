"""What a load run does: its sizes and timings per mode, and the search for the highest call rate.

Pure: no I/O, no clock. The harness (bench/load/harness.py) runs the steps this module decides.

One call, from the caller's side: the carrier's INVITE, the answer, the greeting (the caller presses 1
``key_ms`` after the answer, barging in), the "connecting" prompt, the queue, the agent's phone rings for
``ring_ms``, the conversation lasts ``talk_ms``, the agent hangs up (which ends the caller's leg too), and
the agent is in wrap-up for ``wrap_up_s`` before the next offer. Real calls, scaled down: an IVR of a few
seconds, a talk of seconds (rate search) or tens of seconds (the hold) instead of minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FULL",
    "MODES",
    "QUICK",
    "SMOKE",
    "CallTimings",
    "Params",
    "RateSearch",
    "StepResult",
    "agents_needed",
]


@dataclass(frozen=True)
class CallTimings:
    key_ms: int  # after the answer, the caller presses 1 (during the greeting)
    ring_ms: int  # the agent's phone rings this long before it answers
    talk_ms: int  # then the agent talks this long and hangs up

    @property
    def agent_busy_s(self) -> float:
        """How long one call keeps an agent from the next offer (wrap-up apart)."""
        return (self.ring_ms + self.talk_ms) / 1000


@dataclass(frozen=True)
class Params:
    name: str
    agents: int
    wrap_up_s: int  # the queue's wrap-up (both paths: the service's ACD and app_queue's wrapuptime)
    # rate search: calls placed at a rate for step_s seconds, from start_rate doubling, then bisecting
    search: CallTimings
    start_rate: float
    step_s: float
    max_steps: int  # per path
    resolution: float  # bisect until (lowest failing - highest passing) / highest passing <= this
    # the hold: this many calls at once for hold_s seconds
    hold: CallTimings
    hold_calls: int
    hold_s: float
    failure_limit: float = 0.01  # a rate passes with fewer failed calls than this share
    sample_every_s: float = 5.0  # RSS and CPU samples during the hold


# Sizes: agents enough for the highest rate the search may reach (agents_needed) and for the hold.
# Full: the search's calls are short (an agent busy 2.8 s with wrap-up) so that 600 agents take ~170 calls/s,
# above what the dialplan-only path carries here; 12 steps reach ~5 % (5, 10, ... 160, then bisecting): the
# ratio's target is 0.8, and a 10 % search cannot tell 0.79 from 0.86 (110 or 120 against 140).
FULL = Params(
    name="full",
    agents=600,
    wrap_up_s=1,
    search=CallTimings(key_ms=1000, ring_ms=300, talk_ms=1500),
    start_rate=5.0,
    step_s=20.0,
    max_steps=12,
    resolution=0.05,
    hold=CallTimings(key_ms=2000, ring_ms=1000, talk_ms=20000),
    hold_calls=200,
    hold_s=600.0,
)
QUICK = Params(
    name="quick",
    agents=60,
    wrap_up_s=1,
    search=CallTimings(key_ms=1000, ring_ms=500, talk_ms=2000),
    start_rate=2.0,
    step_s=8.0,
    max_steps=3,
    resolution=0.25,
    hold=CallTimings(key_ms=1500, ring_ms=500, talk_ms=6000),
    hold_calls=30,
    hold_s=25.0,
)
SMOKE = Params(
    name="smoke",
    agents=8,
    wrap_up_s=1,
    search=CallTimings(key_ms=1000, ring_ms=300, talk_ms=1000),
    start_rate=1.0,
    step_s=4.0,
    max_steps=1,
    resolution=1.0,
    hold=CallTimings(key_ms=1000, ring_ms=300, talk_ms=2000),
    hold_calls=4,
    hold_s=8.0,
    sample_every_s=2.0,
)
MODES = {params.name: params for params in (FULL, QUICK, SMOKE)}


def agents_needed(rate: float, timings: CallTimings, wrap_up_s: float) -> float:
    """Agents busy on average at ``rate`` calls/s (Little's law): more, and callers wait for one."""
    return rate * (timings.agent_busy_s + wrap_up_s)


@dataclass(frozen=True)
class StepResult:
    rate: float
    placed: int
    completed: int  # the caller's call ended normally and an agent answered it
    max_concurrent: int

    @property
    def failed(self) -> int:
        return self.placed - self.completed

    @property
    def failed_share(self) -> float:
        return self.failed / self.placed if self.placed else 1.0

    def passed(self, limit: float) -> bool:
        return self.placed > 0 and self.failed_share < limit


class RateSearch:
    """The highest rate with fewer than ``limit`` failed calls: double from ``start`` until a step fails
    (or ``cap``, what the agents can take), then bisect between the highest pass and the lowest failure.

    ``next_rate()`` is None once the search is over: the gap is within ``resolution``, ``max_steps`` were
    run, the first rate failed, or the cap passed.
    """

    def __init__(self, start: float, cap: float, limit: float, resolution: float, max_steps: int) -> None:
        if start <= 0 or cap < start:
            raise ValueError(f"bad search range: start {start}, cap {cap}")
        self.start = start
        self.cap = cap
        self.limit = limit
        self.resolution = resolution
        self.max_steps = max_steps
        self.steps: list[StepResult] = []

    @property
    def best(self) -> StepResult | None:
        """The passing step at the highest rate."""
        passing = [step for step in self.steps if step.passed(self.limit)]
        return max(passing, key=lambda step: step.rate, default=None)

    @property
    def lowest_failure(self) -> StepResult | None:
        failing = [step for step in self.steps if not step.passed(self.limit)]
        return min(failing, key=lambda step: step.rate, default=None)

    @property
    def capped(self) -> bool:
        """The cap passed: the agents, not the machine, set the result."""
        best = self.best
        return best is not None and best.rate >= self.cap

    def record(self, step: StepResult) -> None:
        self.steps.append(step)

    def next_rate(self) -> float | None:
        if len(self.steps) >= self.max_steps:
            return None
        if not self.steps:
            return self.start
        best, failure = self.best, self.lowest_failure
        if best is None or self.capped:
            return None
        if failure is None:
            return _round(min(best.rate * 2, self.cap))
        if (failure.rate - best.rate) / best.rate <= self.resolution:
            return None
        return _round((best.rate + failure.rate) / 2)


def _round(rate: float) -> float:
    """SIPp takes tenths of calls per second."""
    return round(rate, 1)
