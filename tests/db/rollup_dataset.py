"""A generated call-center day for the rollup and report tests: random with a fixed seed, but consistent.

Calls arrive over a span crossing midnight UTC; agents answer when free (on_call, then wrap_up, then
available again), pause now and then with a reason, miss some offers (ring-no-answer), put callers on
hold and transfer some to another queue. Callers come from a small pool, so repeat calls (FCR) happen.
Some calls stay in the IVR (contained or not), some are out of hours. Every record is what the service
would write: call records, steps, agent events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from callcenter.records import AgentEvent, CallRecord, CallStep, IvrStep, Outcome, Record, StepKind

__all__ = ["AGENTS", "LINES", "QUEUES", "START", "Dataset", "generate"]

START = datetime(2024, 3, 10, 22, 0, tzinfo=UTC)
QUEUES = ("support", "orders", "sales")
LINES = ("+78001000001", "+78001000002")
AGENTS = ("1001", "1002", "1003", "1004", "1005", "1006")  # 1001-1003 in dialplans/, the others left it
NODE = "pbx1"
WRAP_UP = 10.0


@dataclass
class _Agent:
    name: str
    free_at: datetime
    events: list[AgentEvent] = field(default_factory=list)

    def state(self, at: datetime, state: str, reason: str = "") -> None:
        self.events.append(AgentEvent(NODE, self.name, state, reason, at))


@dataclass
class Dataset:
    calls: list[CallRecord]
    steps: list[CallStep]
    events: list[AgentEvent]

    def records(self) -> list[Record]:
        """Everything in the order the service would write it: steps and events as they happen, records at the end."""
        timed: list[tuple[datetime, int, Record]] = []
        timed += [(s.at, 1, s) for s in self.steps]
        timed += [(e.at, 0, e) for e in self.events]
        timed += [(c.ended_at, 2, c) for c in self.calls]
        return [record for _, _, record in sorted(timed, key=lambda item: (item[0], item[1]))]


def generate(calls: int = 1500, seed: int = 7, hours: float = 4.0) -> Dataset:
    rng = random.Random(seed)
    agents = {name: _Agent(name, START) for name in AGENTS}
    for agent in agents.values():
        agent.state(START - timedelta(minutes=5), "available")
    callers = [f"+7916{n:07d}" for n in range(calls // 4)]
    arrivals = sorted(START + timedelta(seconds=rng.uniform(0, hours * 3600)) for _ in range(calls))
    records: list[CallRecord] = []
    steps: list[CallStep] = []
    for index, arrived in enumerate(arrivals):
        lid = f"{1700000000 + index}.{index}"
        line = LINES[index % 2]
        caller = rng.choice(callers) if rng.random() > 0.05 else ""
        kind = rng.random()
        if kind < 0.08:  # IVR only: a message (contained) or a hang-up in the menu
            outcome = Outcome.COMPLETED if rng.random() < 0.6 else Outcome.ABANDONED
            ended = arrived + timedelta(seconds=rng.uniform(5, 40))
            records.append(_record(lid, line, caller, arrived, ended, outcome, ivr=True))
            continue
        if kind < 0.10:
            ended = arrived + timedelta(seconds=8)
            records.append(_record(lid, line, caller, arrived, ended, Outcome.CLOSED, ivr=False))
            continue
        queue = QUEUES[rng.randrange(3)]
        entered = arrived + timedelta(seconds=rng.uniform(3, 15))
        call_steps, outcome, ended, last_queue, last_agent = _queue_visit(rng, agents, lid, queue, entered, steps)
        steps.extend(call_steps)
        records.append(
            _record(lid, line, caller, arrived, ended, outcome, ivr=True, queue=last_queue, agent=last_agent)
        )
    events = [e for agent in agents.values() for e in agent.events]
    return Dataset(records, steps, events)


def _record(
    lid: str,
    line: str,
    caller: str,
    started: datetime,
    ended: datetime,
    outcome: Outcome,
    *,
    ivr: bool,
    queue: str = "",
    agent: str = "",
) -> CallRecord:
    return CallRecord(
        node=NODE,
        linkedid=lid,
        uniqueid=lid,
        dialled_raw=line,
        dialled_number=line,
        caller_number=caller,
        caller_name="",
        started_at=started,
        ended_at=ended,
        outcome=outcome,
        ivr_path=(IvrStep("main", "1"),) if ivr else (),
        destination=f"queue:{queue}" if queue else "",
        queue=queue,
        agent=agent,
        queued_at=started if queue else None,
    )


def _free_agent(agents: dict[str, _Agent], at: datetime, rng: random.Random) -> _Agent:
    return min(agents.values(), key=lambda a: (a.free_at, rng.random()))


def _queue_visit(
    rng: random.Random,
    agents: dict[str, _Agent],
    lid: str,
    queue: str,
    entered: datetime,
    existing: list[CallStep],
    depth: int = 0,
) -> tuple[list[CallStep], Outcome, datetime, str, str]:
    out = [CallStep(NODE, lid, entered, StepKind.QUEUED, queue, position=1)]
    patience = rng.choice([2.0, 4.0, 5.0, 5.0, 12.0, 20.0, 20.0, 35.0, 60.0, 90.0, 300.0])
    agent = _free_agent(agents, entered, rng)
    start_at = max(entered + timedelta(seconds=rng.uniform(0.5, 3)), agent.free_at)
    wait = (start_at - entered).total_seconds()
    if wait > patience:
        left = entered + timedelta(seconds=patience)
        roll = rng.random()
        if roll < 0.7:
            out.append(CallStep(NODE, lid, left, StepKind.ABANDONED, queue, seconds=patience))
            return out, Outcome.ABANDONED, left, queue, ""
        if roll < 0.85:
            out.append(CallStep(NODE, lid, left, StepKind.OVERFLOWED, queue, result="max_wait", detail="voicemail"))
            return out, Outcome.OVERFLOWED, left + timedelta(seconds=30), queue, ""
        out.append(CallStep(NODE, lid, left, StepKind.CALLBACK_REQUESTED, queue, seconds=patience))
        return out, Outcome.CALLBACK, left, queue, ""
    ring = start_at
    if rng.random() < 0.1 and wait + 15 < patience:  # the first agent lets it ring out: ring-no-answer
        agent.state(ring, "ringing")
        agent.state(ring + timedelta(seconds=15), "available")
        out.append(CallStep(NODE, lid, ring, StepKind.OFFERED, queue, agent.name, seconds=15.0, result="no_answer"))
        agent.free_at = ring + timedelta(seconds=15)
        ring = ring + timedelta(seconds=15)
        agent = _free_agent(agents, ring, rng)
        ring = max(ring, agent.free_at)
    ring_time = rng.uniform(1, 4)
    connected = ring + timedelta(seconds=ring_time)
    wait = (connected - entered).total_seconds()
    if agent.free_at < ring and rng.random() < 0.15:  # a pause in the idle time before this call
        pause_at = agent.free_at + (ring - agent.free_at) / 3
        agent.state(pause_at, "paused", rng.choice(["lunch", "training", "no_answer"]))
        agent.state(pause_at + (ring - agent.free_at) / 3, "available")
    agent.state(ring, "ringing")
    agent.state(connected, "on_call")
    out.append(CallStep(NODE, lid, ring, StepKind.OFFERED, queue, agent.name, seconds=ring_time, result="answered"))
    out.append(CallStep(NODE, lid, connected, StepKind.CONNECTED, queue, agent.name, seconds=wait))
    talk = rng.uniform(20, 240)
    hold = rng.uniform(5, 30) if rng.random() < 0.2 else 0.0
    if hold:
        out.append(CallStep(NODE, lid, connected + timedelta(seconds=5), StepKind.HOLD, "", agent.name, seconds=hold))
    ended = connected + timedelta(seconds=talk + hold)
    transfer = depth == 0 and rng.random() < 0.08
    if transfer:
        target = QUEUES[(QUEUES.index(queue) + 1) % 3]
        out.append(CallStep(NODE, lid, ended, StepKind.TRANSFERRED, queue, agent.name, detail=f"blind queue:{target}"))
    out.append(CallStep(NODE, lid, ended, StepKind.ENDED, queue, agent.name, seconds=talk + hold))
    agent.state(ended, "wrap_up")
    agent.state(ended + timedelta(seconds=WRAP_UP), "available")
    agent.free_at = ended + timedelta(seconds=WRAP_UP)
    if transfer:
        more, outcome, end2, q2, a2 = _queue_visit(
            rng, agents, lid, target, ended + timedelta(seconds=0.5), existing, depth + 1
        )
        return out + more, outcome, end2, q2, a2
    return out, Outcome.ANSWERED, ended, queue, agent.name
