"""Routing benchmark: the ACD core (``callcenter.acd.core.Acd``) against a naive full-scan router.

Run ``python -m bench.acd_bench`` (``make bench``), or ``--quick`` for a small run (the unit test's).

The workload is generated from ``random.Random(seed)`` and is the same for both routers:

* 50 skills; 20 queues each requiring 1-3 skills at levels 1-3; 2,000 agents each in 2-5 queues, with
  their levels (most meet their queues' requirements, some do not and are only members).
* Phase 0 (not measured): every agent logs in and is put on a call (a seeded contact, answered at once);
  an agent who meets no queue's requirements is paused instead. Nobody is available.
* Phase 1: 10,000 contacts arrive (5 % of them VIPs) and wait. Measured: each ``handle()`` call, and, in
  a separate pass under ``tracemalloc``, the memory the router holds per waiting contact.
* Phase 2, decisions under load: calls end, wrap-up timers fire, agents take the next contact, answer
  (or miss, or reject) offers, go on breaks and come back, log out and in; contacts keep arriving and
  abandoning at rates that keep about 10,000 waiting. Measured: each ``handle()`` call (the shell's
  ``next_deadline()`` calls are timed apart). Bounded by an event count and a wall-clock limit.

The driver reacts to the commands the router returns (an ``Offer`` is answered a few seconds later, a
``CancelOffer`` cancels that answer, and so on), so two routers that decide alike receive the same events.
The naive router runs the same event stream (or, when its own limits cut it short, a prefix of it); its
offers are checked to be exactly the core's over the events it handled, and the ratios compare both
routers on those same events. A second pair of runs has no backlog (nobody waiting, arrivals at 70 % of
capacity), where several agents are free at once and the strategy chooses among them.
Exit status: 0, or 1 when the two routers decide differently. The targets are reported, not asserted.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import math
import os
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol

from bench.naive_router import NaiveRouter
from callcenter.acd.core import Acd, AgentProfile, QueueRules
from callcenter.acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentState,
    AgentStateChanged,
    AgentUnpaused,
    CancelOffer,
    Command,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    Event,
    Offer,
    OfferAnswered,
    OfferFailed,
    Overflow,
    TimerFired,
)

__all__ = [
    "FULL",
    "QUICK",
    "Params",
    "Run",
    "Scenario",
    "compare",
    "main",
    "make_scenario",
    "measure_memory",
    "no_backlog",
    "run",
]

TARGET_P99_NS = 1_000_000  # 1 ms per decision
TARGET_BYTES_PER_CONTACT = 20_000  # 20 KB (1 KB = 1,000 bytes, the stricter reading)

# --- the workload's shape (simulated seconds) ---------------------------------------------------------------
PHASE1_SECONDS = 200.0  # the waiting contacts arrive over this long
HANDLE_TIME = (60.0, 300.0)  # talk time, uniform
ANSWER_DELAY = (1.0, 6.0)  # an offer is answered this long after it rings
FAIL_DELAY = (2.0, 10.0)  # a missed or rejected offer is reported this long after it rings
P_SILENT = 0.003  # the phone never reports back: the core's ring timer fires
P_FAIL = 0.03  # the offer fails: no_answer (2 of 3) or busy
PATIENCE = 2000.0  # mean patience of a waiting caller (exponential)
P_VIP = 0.05
BREAKS_PER_AGENT_HOUR = 1.0
BREAK_LENGTH = (60.0, 300.0)
LOGOUTS_PER_AGENT_HOUR = 0.1
LOGGED_OUT_FOR = (120.0, 600.0)
NO_ANSWER_PAUSE = (30.0, 120.0)  # a supervisor unpauses an agent the core paused for missed offers
MAX_WAIT = 3600.0  # the queues' max wait: longer than the simulated span, so no contact overflows


@dataclass(frozen=True, slots=True)
class Params:
    seed: int = 20240601
    skills: int = 50
    queues: int = 20
    agents: int = 2000
    waiting: int = 10_000
    events: int = 50_000  # phase 2, the core
    seconds: float = 20.0  # wall-clock limit of phase 2, the core
    naive_events: int = 50_000  # phase 2, the naive router: the same event stream (or a prefix of it)
    naive_seconds: float = 30.0
    load: float = 1.0  # phase 2 arrivals, as a share of what the agents can serve (plus what abandons)


FULL = Params()
QUICK = Params(
    skills=20, queues=8, agents=200, waiting=1000, events=3000, seconds=5.0, naive_events=3000, naive_seconds=5.0
)


def no_backlog(params: Params) -> Params:
    """The same agents with nobody waiting and arrivals at 70 % of capacity: agents wait for contacts, so the
    strategy chooses among several available agents (with a backlog, one agent is free at a time)."""
    return replace(params, waiting=0, load=0.7, events=params.events // 2, naive_events=params.naive_events // 2)


@dataclass(frozen=True, slots=True)
class Scenario:
    params: Params
    strategy: str
    queues: list[QueueRules]
    agents: list[AgentProfile]
    queue_weights: list[float]  # cumulative, for random.choices
    eligible: dict[str, tuple[str, ...]]  # agent -> the queues whose requirements it meets


def make_scenario(params: Params, strategy: str = "longest_idle") -> Scenario:
    """Queues and agents from the seed alone: the same for every strategy and router."""
    rng = random.Random(params.seed)
    skills = [f"s{i:02d}" for i in range(params.skills)]
    queues: list[QueueRules] = []
    weights: list[float] = []
    for i in range(params.queues):
        required = {skill: rng.randint(1, 3) for skill in rng.sample(skills, rng.randint(1, 3))}
        queues.append(
            QueueRules(
                name=f"q{i:02d}",
                strategy=strategy,
                skills=required,
                wrap_up=float(rng.choice((5, 10, 15, 20))),
                max_wait=MAX_WAIT,
                ring_timeout=15.0,
            )
        )
        weights.append(rng.uniform(0.5, 2.0))
    cumulative = [sum(weights[: i + 1]) for i in range(len(weights))]
    agents: list[AgentProfile] = []
    eligible: dict[str, tuple[str, ...]] = {}
    for i in range(params.agents):
        member_of = rng.sample(queues, rng.randint(2, min(5, len(queues))))
        levels: dict[str, int] = {}
        for rules in member_of:
            for skill, level in rules.skills.items():
                # Most agents meet their queues' requirements, some above them; a few fall one level short.
                have = rng.randint(level, 3) if rng.random() < 0.95 else level - 1
                levels[skill] = max(levels.get(skill, 0), have)
        for skill in rng.sample(skills, rng.randint(0, 3)):
            levels[skill] = max(levels.get(skill, 0), rng.randint(1, 3))
        profile = AgentProfile(
            agent=f"a{i:04d}", queues=tuple(q.name for q in member_of), skills={k: v for k, v in levels.items() if v}
        )
        agents.append(profile)
        eligible[profile.agent] = tuple(
            q.name for q in member_of if all(profile.skills.get(s, 0) >= lv for s, lv in q.skills.items())
        )
    return Scenario(params, strategy, queues, agents, cumulative, eligible)


class Router(Protocol):
    def handle(self, event: Event) -> list[Command]: ...

    def next_deadline(self) -> float | None: ...


RouterFactory = Callable[[list[QueueRules], list[AgentProfile]], Router]


def core_router(queues: list[QueueRules], agents: list[AgentProfile]) -> Router:
    return Acd(queues, agents)


def naive_router(queues: list[QueueRules], agents: list[AgentProfile]) -> Router:
    return NaiveRouter(queues, agents)


ROUTERS: dict[str, RouterFactory] = {"core": core_router, "naive": naive_router}


class BenchError(Exception):
    """The workload could not be driven as designed (a router misbehaved)."""


@dataclass(slots=True)
class _Job:
    """Something the simulated world will do at a time: the driver turns it into an event (or drops it)."""

    kind: str
    contact: str = ""
    agent: str = ""
    gen: int = 0
    reason: str = ""


@dataclass(slots=True)
class Phase:
    latency_ns: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    deadline_ns: list[int] = field(default_factory=list)
    wall_seconds: float = 0.0
    sim_seconds: float = 0.0
    stopped_by_time: bool = False
    gc_pauses: list[tuple[int, int]] = field(default_factory=list)  # (generation, ns) of each collection in phase 2


@dataclass(slots=True)
class Run:
    router: str
    strategy: str
    phase1: Phase = field(default_factory=Phase)
    phase2: Phase = field(default_factory=Phase)
    offers: list[tuple[int, Offer]] = field(default_factory=list)  # (index of the handle() call, offer)
    commands: list[Command] = field(default_factory=list)  # every command, when asked for
    phase2_start: int = 0  # index of phase 2's first handle() call
    counts: dict[str, int] = field(default_factory=dict)
    waiting_at_end: int = 0
    diagnostics: list[str] = field(default_factory=list)


class Driver:
    """Plays the shell and the callers: sends events, reacts to commands, keeps the simulated clock."""

    def __init__(self, scenario: Scenario, router: Router, result: Run | None, record_commands: bool = False) -> None:
        self.scenario = scenario
        self.router = router
        self.result = result
        self.record_commands = record_commands
        self.rng = random.Random(scenario.params.seed * 7919 + 17)  # the workload's, apart from the scenario's
        self.now = 0.0
        self.jobs: list[tuple[float, int, _Job]] = []
        self.job_seq = 0
        self.handled = 0
        self.phase: Phase | None = None
        self.agent_state: dict[str, AgentState] = {}
        self.ringing: dict[str, tuple[str, int]] = {}  # contact -> (agent, offer generation) awaiting a reply
        self.unanswered: set[str] = set()  # contacts waiting or ringing
        self.answered_now: list[str] = []  # agents that went on a call in the last event
        self.gen = 0
        self.contacts = 0
        self.queue_names = [q.name for q in scenario.queues]
        self.agent_ids = [a.agent for a in scenario.agents]
        self.counts: dict[str, int] = {"offers": 0, "answered": 0, "abandoned": 0, "overflows": 0, "failed": 0}
        self.auto_ring = True

    # --- sending --------------------------------------------------------------------------------------------

    def send(self, event: Event) -> list[Command]:
        phase = self.phase
        if phase is None:
            commands = self.router.handle(event)
        else:
            start = time.perf_counter_ns()
            commands = self.router.handle(event)
            phase.latency_ns.append(time.perf_counter_ns() - start)
            phase.kinds.append(type(event).__name__)
        self.react(commands)
        self.handled += 1
        return commands

    def deadline(self) -> float | None:
        """``next_deadline()``, which the shell asks after every event (timed apart in a measured phase)."""
        phase = self.phase
        if phase is None:
            return self.router.next_deadline()
        start = time.perf_counter_ns()
        deadline = self.router.next_deadline()
        phase.deadline_ns.append(time.perf_counter_ns() - start)
        return deadline

    def fire_timers(self, until: float) -> None:
        """Send TimerFired for every deadline up to ``until``, as the shell's timer would."""
        while (deadline := self.deadline()) is not None and deadline <= until:
            self.now = deadline
            self.send(TimerFired(deadline))

    def react(self, commands: list[Command]) -> None:
        self.answered_now.clear()
        result = self.result
        for command in commands:
            if isinstance(command, AgentStateChanged):
                self.agent_state[command.agent] = command.state
                if command.state is AgentState.ON_CALL:
                    self.answered_now.append(command.agent)
                elif command.state is AgentState.PAUSED and command.reason in ("no_answer", "unreachable"):
                    self.schedule(self.now + self.rng.uniform(*NO_ANSWER_PAUSE), _Job("unpause", agent=command.agent))
            elif isinstance(command, Offer):
                self.counts["offers"] += 1
                if result is not None:
                    result.offers.append((self.handled, command))
                if self.auto_ring:
                    self.ring(command)
            elif isinstance(command, CancelOffer):
                pending = self.ringing.get(command.contact)
                if pending is not None and pending[0] == command.agent:
                    del self.ringing[command.contact]
            elif isinstance(command, Overflow):
                self.counts["overflows"] += 1
                self.unanswered.discard(command.contact)
                self.ringing.pop(command.contact, None)
        if self.record_commands and result is not None:
            result.commands.extend(commands)

    def ring(self, offer: Offer) -> None:
        """The agent's phone rings: decide now what it will do (answer, fail, or never report back)."""
        for agent in offer.agents:
            self.gen += 1
            self.ringing[offer.contact] = (agent, self.gen)
            draw = self.rng.random()
            if draw < P_SILENT:
                continue
            if draw < P_SILENT + P_FAIL:
                reason = self.rng.choice(("no_answer", "no_answer", "busy"))
                job = _Job("fail", offer.contact, agent, self.gen, reason)
                self.schedule(self.now + self.rng.uniform(*FAIL_DELAY), job)
            else:
                job = _Job("answer", offer.contact, agent, self.gen)
                self.schedule(self.now + self.rng.uniform(*ANSWER_DELAY), job)

    def schedule(self, at: float, job: _Job) -> None:
        self.job_seq += 1
        heapq.heappush(self.jobs, (at, self.job_seq, job))

    def new_contact(self) -> tuple[str, str, int]:
        self.contacts += 1
        queue = self.rng.choices(self.queue_names, cum_weights=self.scenario.queue_weights)[0]
        priority = 1 if self.rng.random() < P_VIP else 0
        return f"c{self.contacts:07d}", queue, priority

    # --- phases ---------------------------------------------------------------------------------------------

    def staff(self) -> None:
        """Phase 0: everyone logs in and goes on a call (a seeded contact answered at once) or on a pause."""
        self.auto_ring = False
        for agent in self.agent_ids:
            self.send(AgentLoggedIn(0.0, agent))
            self.fire_timers(0.0)
        seeds = 0
        for agent in self.agent_ids:
            while self.agent_state.get(agent) is AgentState.AVAILABLE:
                queues = self.scenario.eligible[agent]
                if not queues:
                    self.send(AgentPaused(0.0, agent, "no_skill"))
                    self.fire_timers(0.0)
                    break
                seeds += 1
                contact = f"s{seeds:05d}"
                offers = [
                    c for c in self.send(ContactArrived(0.0, contact, self.rng.choice(queues))) if isinstance(c, Offer)
                ]
                if len(offers) != 1:
                    raise BenchError(f"seed contact {contact} was not offered to an available agent")
                self.fire_timers(0.0)
                (taker,) = offers[0].agents
                self.send(OfferAnswered(0.0, contact, taker))
                self.fire_timers(0.0)
                if self.agent_state.get(taker) is not AgentState.ON_CALL:
                    raise BenchError(f"{taker} did not go on the call {contact}")
                self.schedule(PHASE1_SECONDS + self.rng.uniform(0.0, HANDLE_TIME[1]), _Job("end", contact, taker))
        self.auto_ring = True

    def fill(self, retain: bool = True) -> None:
        """Phase 1: ``waiting`` contacts arrive while nobody is available; with ``retain``, they may abandon later."""
        count = self.scenario.params.waiting
        step = PHASE1_SECONDS / max(1, count)
        for i in range(count):
            at = (i + self.rng.random()) * step
            self.fire_timers(at)  # none is due (nobody rings or wraps up), but stale timers are dropped
            self.now = at
            contact, queue, priority = self.new_contact()
            patience = self.rng.expovariate(1.0 / PATIENCE)
            if retain:
                self.unanswered.add(contact)
                self.schedule(PHASE1_SECONDS + patience, _Job("abandon", contact))
            self.send(ContactArrived(self.now, contact, queue, priority))
        self.now = PHASE1_SECONDS

    def steady(self, max_events: int, max_seconds: float) -> None:
        """Phase 2: the steady mix, until ``max_events`` handle() calls or ``max_seconds`` of wall clock."""
        params = self.scenario.params
        cycle = sum(HANDLE_TIME) / 2 + sum(ANSWER_DELAY) / 2
        cycle += sum(q.wrap_up for q in self.scenario.queues) / len(self.scenario.queues)
        arrival_rate = (
            params.load * params.agents / cycle + params.waiting / PATIENCE
        )  # served + abandoning: the backlog stays
        break_rate = params.agents * BREAKS_PER_AGENT_HOUR / 3600.0
        logout_rate = params.agents * LOGOUTS_PER_AGENT_HOUR / 3600.0
        self.schedule(self.now + self.rng.expovariate(arrival_rate), _Job("arrive"))
        self.schedule(self.now + self.rng.expovariate(break_rate), _Job("break"))
        self.schedule(self.now + self.rng.expovariate(logout_rate), _Job("logout"))
        phase = self.phase
        assert phase is not None
        started = time.perf_counter()
        sim_start = self.now
        done = 0
        while done < max_events:
            if done & 63 == 0 and time.perf_counter() - started > max_seconds:
                phase.stopped_by_time = True
                break
            deadline = self.deadline()
            at, _, job = self.jobs[0]
            if deadline is not None and deadline <= at:
                self.now = deadline
                self.send(TimerFired(deadline))
                done += 1
                continue
            heapq.heappop(self.jobs)
            self.now = at
            if self.play(job, arrival_rate, break_rate, logout_rate):
                done += 1
        phase.wall_seconds = time.perf_counter() - started
        phase.sim_seconds = self.now - sim_start

    def play(self, job: _Job, arrival_rate: float, break_rate: float, logout_rate: float) -> bool:
        """Turn a job into an event and send it; False when the world has moved on and nothing is sent."""
        now, rng, kind = self.now, self.rng, job.kind
        if kind == "arrive":
            contact, queue, priority = self.new_contact()
            self.unanswered.add(contact)
            self.schedule(now + rng.expovariate(1.0 / PATIENCE), _Job("abandon", contact))
            self.schedule(now + rng.expovariate(arrival_rate), _Job("arrive"))
            self.send(ContactArrived(now, contact, queue, priority))
        elif kind == "answer":
            if self.ringing.get(job.contact) != (job.agent, job.gen):
                return False
            del self.ringing[job.contact]
            self.send(OfferAnswered(now, job.contact, job.agent))
            if job.agent not in self.answered_now:
                raise BenchError(f"{job.agent} answered {job.contact} but did not go on the call")
            self.counts["answered"] += 1
            self.unanswered.discard(job.contact)
            self.schedule(now + rng.uniform(*HANDLE_TIME), _Job("end", job.contact, job.agent))
        elif kind == "fail":
            if self.ringing.get(job.contact) != (job.agent, job.gen):
                return False
            del self.ringing[job.contact]
            self.counts["failed"] += 1
            self.send(OfferFailed(now, job.contact, job.agent, job.reason))
        elif kind == "end":
            self.send(ContactEnded(now, job.contact, job.agent))
        elif kind == "abandon":
            if job.contact not in self.unanswered:
                return False
            self.unanswered.discard(job.contact)
            self.ringing.pop(job.contact, None)
            self.counts["abandoned"] += 1
            self.send(ContactAbandoned(now, job.contact))
        elif kind == "break":
            agent = rng.choice(self.agent_ids)
            self.schedule(now + rng.uniform(*BREAK_LENGTH), _Job("unpause", agent=agent))
            self.schedule(now + rng.expovariate(break_rate), _Job("break"))
            self.send(AgentPaused(now, agent, "break"))
        elif kind == "unpause":
            self.send(AgentUnpaused(now, job.agent))
        elif kind == "logout":
            agent = rng.choice(self.agent_ids)
            self.schedule(now + rng.uniform(*LOGGED_OUT_FOR), _Job("login", agent=agent))
            self.schedule(now + rng.expovariate(logout_rate), _Job("logout"))
            self.send(AgentLoggedOut(now, agent))
        elif kind == "login":
            if self.agent_state.get(job.agent) is not AgentState.LOGGED_OUT:
                # Still finishing a call (the log-out is pending): try again later.
                self.schedule(now + 60.0, job)
                return False
            self.send(AgentLoggedIn(now, job.agent))
        else:  # pragma: no cover
            raise BenchError(f"unknown job {kind}")
        return True


# --- running --------------------------------------------------------------------------------------------------


class _GcWatch:
    """Times the cyclic garbage collector's collections while installed (some land inside handle() calls)."""

    def __init__(self, into: list[tuple[int, int]]) -> None:
        self.into = into
        self.started = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter_ns()
        else:
            self.into.append((info.get("generation", -1), time.perf_counter_ns() - self.started))

    def __enter__(self) -> _GcWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def run(scenario: Scenario, router: str, max_events: int, max_seconds: float, record_commands: bool = False) -> Run:
    """Phases 0-2 through one router, timing every handle() call of phases 1 and 2."""
    result = Run(router, scenario.strategy)
    driver = Driver(scenario, ROUTERS[router](scenario.queues, scenario.agents), result, record_commands)
    driver.staff()
    driver.phase = result.phase1
    first = driver.handled
    started = time.perf_counter()
    driver.fill()
    result.phase1.wall_seconds = time.perf_counter() - started
    result.phase1.sim_seconds = PHASE1_SECONDS
    result.counts["phase1_offers"] = sum(1 for index, _ in result.offers if index >= first)
    driver.phase = result.phase2
    result.phase2_start = driver.handled
    with _GcWatch(result.phase2.gc_pauses):
        driver.steady(max_events, max_seconds)
    driver.phase = None
    result.counts.update(driver.counts)
    result.waiting_at_end = len(driver.unanswered)
    if isinstance(driver.router, Acd):
        result.diagnostics = core_diagnostics(driver.router, len(driver.unanswered))
    return result


def core_diagnostics(acd: Acd, waiting: int) -> list[str]:
    """Sizes of the core's lazily pruned heaps (private fields, read for this report only)."""
    queues = list(acd._queues.values())
    contacts = sum(len(q.waiting) + len(q.relaxed) for q in queues)
    available = sum(1 for a in acd._agents.values() if a.state is AgentState.AVAILABLE)
    kinds: dict[str, int] = {}
    for timer in acd._timers:
        kinds[timer[2]] = kinds.get(timer[2], 0) + 1
    return [
        f"contact heaps: {contacts:,} entries for {waiting:,} contacts waiting or ringing",
        f"agent heaps: agents_strict {sum(len(q.agents_strict) for q in queues):,} entries, "
        f"agents_any {sum(len(q.agents_any) for q in queues):,} entries, for {available:,} available agents",
        f"timer heap: {len(acd._timers):,} entries ("
        + ", ".join(f"{kind} {n:,}" for kind, n in sorted(kinds.items()))
        + f"); contact records: {len(acd._contacts):,}",
    ]


def measure_memory(scenario: Scenario, router: str) -> float:
    """Bytes the router holds per waiting contact: traced memory with all of phase 1 waiting, less before it."""
    gc.collect()
    tracemalloc.start()
    try:
        driver = Driver(scenario, ROUTERS[router](scenario.queues, scenario.agents), None)
        driver.staff()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        driver.fill(retain=False)  # the driver keeps nothing per contact: what grows is the router's
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        del driver
    finally:
        tracemalloc.stop()
    return (after - before) / max(1, scenario.params.waiting)


def compare(core: Run, naive: Run) -> tuple[bool, int, int]:
    """Whether the naive router made exactly the core's offers over the events it saw: (same, offers, events)."""
    events = naive.phase2_start + len(naive.phase2.latency_ns)
    core_offers = [offer for index, offer in core.offers if index < events]
    naive_offers = [offer for _, offer in naive.offers]
    return core_offers == naive_offers, len(naive_offers), events


# --- reporting ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stats:
    count: int
    total_ns: int
    p50: int
    p99: int
    max: int

    @property
    def per_second(self) -> float:
        return self.count / (self.total_ns / 1e9) if self.total_ns else 0.0


def stats(latencies: Sequence[int]) -> Stats:
    """Nearest-rank percentiles."""
    if not latencies:
        return Stats(0, 0, 0, 0, 0)
    ordered = sorted(latencies)

    def rank(p: float) -> int:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return Stats(len(ordered), sum(ordered), rank(0.50), rank(0.99), ordered[-1])


def us(ns: float) -> str:
    return f"{ns / 1000:,.1f}"


def ratio(slow: float, fast: float) -> str:
    return f"{slow / fast:,.1f}x" if fast else "n/a"


def row(cells: Sequence[object], widths: Sequence[int]) -> str:
    return "  " + "  ".join(
        str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def phase_table(rows: list[tuple[str, Stats]]) -> list[str]:
    widths = (28, 8, 12, 8, 8, 9)
    lines = [row(("router", "events", "decisions/s", "p50 us", "p99 us", "max us"), widths)]
    for label, s in rows:
        lines.append(row((label, f"{s.count:,}", f"{s.per_second:,.0f}", us(s.p50), us(s.p99), us(s.max)), widths))
    return lines


def kinds_table(core: Run, naive: Run) -> list[str]:
    widths = (18, 7, 7, 7, 9, 7, 9, 9)
    lines = [row(("event (phase 2)", "count", "core p50", "p99", "max", "naive n", "p50", "p99"), widths)]
    c2, n2 = core.phase2, naive.phase2
    for name in sorted(set(c2.kinds), key=lambda k: -c2.kinds.count(k)):
        c = stats([t for t, k in zip(c2.latency_ns, c2.kinds, strict=True) if k == name])
        n = stats([t for t, k in zip(n2.latency_ns, n2.kinds, strict=True) if k == name])
        lines.append(
            row((name, f"{c.count:,}", us(c.p50), us(c.p99), us(c.max), f"{n.count:,}", us(n.p50), us(n.p99)), widths)
        )
    return lines


def speedups(core: Stats, naive: Stats) -> str:
    return (
        f"p50 {ratio(naive.p50, core.p50)}, p99 {ratio(naive.p99, core.p99)}, "
        f"throughput {ratio(core.per_second, naive.per_second)}"
    )


def report(scenario: Scenario, core: Run, naive: Run, memory: dict[str, float] | None) -> tuple[list[str], bool]:
    params = scenario.params
    same, offers, events = compare(core, naive)
    naive_n = len(naive.phase2.latency_ns)
    lines = [f"--- {scenario.strategy}, {params.waiting:,} waiting at the start, phase 2 load {params.load:g}", ""]
    if params.waiting:
        c1, n1 = stats(core.phase1.latency_ns), stats(naive.phase1.latency_ns)
        lines.append(f"phase 1: {params.waiting:,} contacts arrive while all {params.agents:,} agents are busy")
        lines += phase_table([("core", c1), ("naive", n1)])
        lines.append(f"  core vs naive, same arrivals: {speedups(c1, n1)}")
        lines.append(
            f"  offers during phase 1: core {core.counts['phase1_offers']}, naive {naive.counts['phase1_offers']} "
            "(expected 0: nobody is available)"
        )
        if memory is not None:
            lines.append(
                f"  memory per waiting contact (tracemalloc): core {memory['core']:,.0f} bytes, "
                f"naive {memory['naive']:,.0f} bytes"
            )
        lines.append("")
    c2, n2 = stats(core.phase2.latency_ns), stats(naive.phase2.latency_ns)
    cut = " (stopped by its time limit)"
    lines.append(
        f"phase 2: steady mix, {c2.count:,} events{cut if core.phase2.stopped_by_time else ''}, "
        f"{core.phase2.sim_seconds:,.0f} simulated s; wall: core {core.phase2.wall_seconds:.2f} s, "
        f"naive {naive.phase2.wall_seconds:.2f} s{cut if naive.phase2.stopped_by_time else ''}"
    )
    rows = [("core", c2)]
    if naive_n < c2.count:
        c2 = stats(core.phase2.latency_ns[:naive_n])
        rows.append((f"core, first {naive_n:,} events", c2))
    rows.append(("naive" if naive_n == len(core.phase2.latency_ns) else f"naive, first {naive_n:,} events", n2))
    lines += phase_table(rows)
    lines.append(f"  core vs naive, same {naive_n:,} events: {speedups(c2, n2)}")
    verdict = "yes" if same else "NO: the baseline is not the same router"
    lines.append(f"  same decisions over those {events:,} handle() calls ({offers:,} offers): {verdict}")
    d = stats(core.phase2.deadline_ns)
    lines.append(f"  core next_deadline(): p50 {us(d.p50)} us, p99 {us(d.p99)} us, max {us(d.max)} us")
    counts = core.counts
    lines.append(
        f"  core run: {counts['offers']:,} offers, {counts['answered']:,} answered, {counts['failed']:,} failed, "
        f"{counts['abandoned']:,} abandoned, {counts['overflows']:,} overflows; "
        f"{core.waiting_at_end:,} waiting or ringing at the end"
    )
    pauses = core.phase2.gc_pauses
    if pauses:
        full = [ns for generation, ns in pauses if generation == 2]
        lines.append(
            f"  cyclic GC during the core's phase 2 (driver included): {len(pauses):,} collections, longest "
            f"{max(ns for _, ns in pauses) / 1e6:.1f} ms; {len(full)} of the oldest generation"
            + (f", longest {max(full) / 1e6:.1f} ms" if full else "")
            + ". The max column includes the ones that fell inside handle()."
        )
    lines.append("")
    lines += kinds_table(core, naive)
    lines += ["", "  core internals at the end (heaps with lazy deletion):"] + [f"    {x}" for x in core.diagnostics]
    return lines, same


def section(params: Params, strategy: str, with_memory: bool) -> tuple[list[str], bool, Stats, float | None]:
    scenario = make_scenario(params, strategy)
    core = run(scenario, "core", params.events, params.seconds)
    gc.collect()
    naive = run(scenario, "naive", params.naive_events, params.naive_seconds)
    gc.collect()
    memory = None
    if with_memory:
        memory = {"core": measure_memory(scenario, "core"), "naive": measure_memory(scenario, "naive")}
    lines, same = report(scenario, core, naive, memory)
    return lines, same, stats(core.phase2.latency_ns), memory["core"] if memory else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.acd_bench", description="ACD core vs naive router")
    parser.add_argument("--quick", action="store_true", help="a small bounded run (200 agents, 1,000 waiting)")
    parser.add_argument("--seed", type=int, help="the workload's seed")
    parser.add_argument("--events", type=int, help="phase 2 events for the core")
    parser.add_argument("--naive-events", type=int, help="phase 2 events for the naive router")
    parser.add_argument("--no-idle", action="store_true", help="skip the no-backlog runs")
    parser.add_argument("--gc-off", action="store_true", help="disable the cyclic GC (routing without its pauses)")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    overrides = {"seed": args.seed, "events": args.events, "naive_events": args.naive_events}
    params = replace(params, **{k: v for k, v in overrides.items() if v is not None})

    if args.gc_off:
        gc.disable()
    started = time.perf_counter()
    print(
        f"ACD routing benchmark{' --quick' if args.quick else ''}: seed {params.seed}, {params.skills} skills, "
        f"{params.queues} queues, {params.agents:,} agents"
    )
    print(
        f"{date.today().isoformat()}, Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{_cpu()} ({os.cpu_count()} CPUs){'; cyclic GC disabled' if args.gc_off else ''}"
    )
    print(
        f"phase 2 bounds: core {params.events:,} events or {params.seconds:g} s; "
        f"naive {params.naive_events:,} events or {params.naive_seconds:g} s"
    )
    print()
    runs = [(params, "longest_idle"), (params, "round_robin")]
    if not args.no_idle:
        runs += [(no_backlog(params), "longest_idle"), (no_backlog(params), "round_robin")]
    all_same = True
    target: tuple[Stats, float] | None = None
    for index, (section_params, strategy) in enumerate(runs):
        lines, same, core_stats, memory = section(section_params, strategy, with_memory=index == 0)
        print("\n".join(lines))
        print(flush=True)
        all_same = all_same and same
        if memory is not None:
            target = (core_stats, memory)
    if target is not None:
        core_stats, per_contact = target
        p99_ok = core_stats.p99 <= TARGET_P99_NS
        memory_ok = per_contact <= TARGET_BYTES_PER_CONTACT
        print(f"targets (longest_idle, {params.waiting:,} waiting, the core):")
        print(f"  {'PASS' if p99_ok else 'FAIL'}  p99 per decision (phase 2) {core_stats.p99 / 1e6:.3f} ms <= 1 ms")
        print(f"  {'PASS' if memory_ok else 'FAIL'}  memory per waiting contact {per_contact / 1000:.2f} KB <= 20 KB")
    print(f"total {time.perf_counter() - started:.1f} s")
    if not all_same:
        print("ERROR: the core and the naive router decided differently", file=sys.stderr)
        return 1
    return 0


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
