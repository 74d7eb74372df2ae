"""A seeded call-center day after day, as the service would have recorded it: call records, call steps, agent events.

The records are the service's own types (``callcenter.records``), so whatever reads them (the writer, the
rollups, the reports) meets the shapes it meets in production. A small discrete-event model keeps them
consistent: an agent takes one call at a time, wraps up, then is free again; a caller waits in a queue until
an agent of it is free or their patience runs out; a share of calls is served by the IVR alone.

    for call in CallCenterModel(seed=1, calls_per_day=100_000).calls(start, days=30):
        call.record, call.steps, call.agent_events

Deterministic for a seed, whatever the machine.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from callcenter.records import AgentEvent, CallRecord, CallStep, IvrStep, Outcome, StepKind

__all__ = ["LINES", "QUEUES", "CallCenterModel", "GeneratedCall"]

NODE = "bench"
QUEUES = ("support", "sales", "billing", "retention", "vip")
LINES = ("+78005553535", "+78005553536", "+78005553537", "+78005553538", "+78005553539")
# Arrivals by hour of day (Moscow-like office traffic, UTC hours): the share of a day's calls in each hour.
_HOURLY = (1, 1, 1, 1, 2, 4, 7, 9, 9, 9, 8, 8, 7, 7, 7, 6, 5, 3, 2, 1, 1, 1, 1, 1)


@dataclass(frozen=True)
class GeneratedCall:
    record: CallRecord
    steps: tuple[CallStep, ...]
    agent_events: tuple[AgentEvent, ...]

    @property
    def size(self) -> int:
        """Records this call adds: the call record, its steps and its agent's state changes."""
        return 1 + len(self.steps) + len(self.agent_events)


@dataclass
class _Agent:
    extension: str
    queue: str
    free_at: float = 0.0


@dataclass
class CallCenterModel:
    seed: int = 1
    calls_per_day: int = 100_000
    agents_per_queue: int = 60
    ivr_only_share: float = 0.12  # served by the IVR alone (a message, hours, balance)
    callers: int = 2_000_000  # distinct caller numbers: repeats within a day feed the FCR proxy
    _random: random.Random = field(init=False)
    _free: dict[str, list[tuple[float, str]]] = field(init=False)
    _agents: dict[str, _Agent] = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._agents = {}
        self._free = {}
        for q, queue in enumerate(QUEUES):
            heap: list[tuple[float, str]] = []
            for a in range(self.agents_per_queue):
                extension = f"{2000 + q * 200 + a}"
                self._agents[extension] = _Agent(extension, queue)
                heap.append((0.0, extension))
            heapq.heapify(heap)
            self._free[queue] = heap

    def members(self) -> dict[str, str]:
        """Each agent's queue, by extension."""
        return {extension: agent.queue for extension, agent in self._agents.items()}

    def logins(self, start: datetime) -> list[AgentEvent]:
        """Every agent logged in and available from ``start``: the state the calls' events change from."""
        return [AgentEvent(NODE, extension, "available", "login", start) for extension in sorted(self._agents)]

    def calls(self, start: datetime, days: int) -> Iterator[GeneratedCall]:
        """The calls of ``days`` days from ``start`` (a UTC midnight), in order of arrival."""
        rnd = self._random
        origin = start.timestamp()
        total = sum(_HOURLY)
        sequence = 0
        for day in range(days):
            for hour, weight in enumerate(_HOURLY):
                count = round(self.calls_per_day * weight / total)
                base = origin + day * 86_400 + hour * 3_600
                for offset in sorted(rnd.random() * 3_600 for _ in range(count)):
                    sequence += 1
                    yield self._call(base + offset, sequence)

    def _call(self, arrived: float, sequence: int) -> GeneratedCall:
        rnd = self._random
        linkedid = f"{int(arrived)}.{sequence}"
        line = LINES[sequence % len(LINES)] if rnd.random() < 0.3 else LINES[0]
        caller = f"+79{rnd.randrange(self.callers):09d}"
        ivr_seconds = rnd.uniform(4, 25)
        started = _at(arrived)
        key = str(rnd.randrange(1, 6))
        if rnd.random() < self.ivr_only_share:
            ended = arrived + ivr_seconds + rnd.uniform(5, 40)
            record = CallRecord(
                NODE, linkedid, linkedid, line[1:], line, caller, "", started, _at(ended), Outcome.COMPLETED,
                answered_at=started, language="ru", ivr_path=(IvrStep("main", "9"),),
            )  # fmt: skip
            return GeneratedCall(record, (), ())
        queue = QUEUES[(int(key) - 1) % len(QUEUES)]
        queued = arrived + ivr_seconds
        steps = [CallStep(NODE, linkedid, _at(queued), StepKind.QUEUED, queue, position=1)]
        heap = self._free[queue]
        free_at, extension = heap[0]
        wait = max(0.0, free_at - queued)
        patience = rnd.expovariate(1 / 90)
        queued_record = CallRecord(
            NODE, linkedid, linkedid, line[1:], line, caller, "", started, started, Outcome.QUEUED,
            answered_at=started, language="ru", ivr_path=(IvrStep("main", key),), destination=f"queue:{queue}",
            queue=queue, queued_at=_at(queued),
        )  # fmt: skip
        if wait > patience:
            ended = queued + patience
            steps.append(CallStep(NODE, linkedid, _at(ended), StepKind.ABANDONED, queue, seconds=round(patience, 3)))
            record = replace(queued_record, ended_at=_at(ended), outcome=Outcome.ABANDONED)
            return GeneratedCall(record, tuple(steps), ())
        heapq.heappop(heap)
        ring = rnd.uniform(1, 6)
        offered = queued + wait
        connected = offered + ring
        talk = rnd.expovariate(1 / 170) + 20
        ended = connected + talk
        wrap_up = 10.0
        steps.append(
            CallStep(NODE, linkedid, _at(offered), StepKind.OFFERED, queue, extension, seconds=ring, result="answered")
        )
        steps.append(
            CallStep(NODE, linkedid, _at(connected), StepKind.CONNECTED, queue, extension, seconds=wait + ring)
        )
        if rnd.random() < 0.1:
            hold_at = connected + talk / 3
            steps.append(CallStep(NODE, linkedid, _at(hold_at), StepKind.HOLD, queue, extension, seconds=talk / 4))
        if rnd.random() < 0.05:
            steps.append(
                CallStep(
                    NODE,
                    linkedid,
                    _at(ended - 0.5),
                    StepKind.TRANSFERRED,
                    queue,
                    extension,
                    detail="blind:+74951234567",
                )
            )
        steps.append(CallStep(NODE, linkedid, _at(ended), StepKind.ENDED, queue, extension, seconds=talk))
        events = (
            AgentEvent(NODE, extension, "ringing", "", _at(offered)),
            AgentEvent(NODE, extension, "on_call", "", _at(connected)),
            AgentEvent(NODE, extension, "wrap_up", "", _at(ended)),
            AgentEvent(NODE, extension, "available", "", _at(ended + wrap_up)),
        )
        heapq.heappush(heap, (ended + wrap_up, extension))
        record = replace(
            queued_record, ended_at=_at(ended), outcome=Outcome.ANSWERED, agent=extension, connected_at=_at(connected)
        )
        return GeneratedCall(record, tuple(steps), events)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(round(seconds, 3), UTC)
