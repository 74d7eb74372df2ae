"""The live wallboard's state: per queue and per agent, what a supervisor's screen shows right now.

Fed with facts as they happen (an agent's state changed, a call step was journalled) and asked for a
``Board`` at a moment. Per queue: callers waiting now and the longest wait (the ACD's live figures, given
by the caller), agents by state, and today's offered/answered/abandoned and service level, computed with
the KPI module from today's call steps (``contacts_from_steps`` per call, ``measure`` per queue). Per agent:
state and reason, since when, and the call they are on.

"Today" is the calendar day in the configured time zone; at midnight the day's figures start again.
Contacts count on the day they entered the queue. Each queue's service level is the variant its dialplan
``service_level.shown`` names (``sl_offered`` by default, GUIDE §3), with its T and S.

Memory stays flat over a busy day: a call's steps are kept only while more may come. Once it has ended
(its last step an end, quiet for ``FOLD_AFTER_END``) or gone quiet for ``FOLD_AFTER`` whatever its last step
(an end never written), its contacts are folded into the queue's running sums (``kpi.sums``, which give
exactly what ``measure`` gives) and its steps dropped. Folded contacts keep the thresholds of the moment
they were folded (as rollups do); a later step of a folded call is left out, but its entering a queue
again is a new visit and counts.

Pure: no I/O, no clock (every fact and question carries its time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from callcenter.acd.events import AgentState
from callcenter.dialplan.model import Dialplan
from callcenter.kpi.contacts import QueueContact, contacts_from_steps
from callcenter.kpi.measures import QueueMeasures, Thresholds
from callcenter.kpi.sums import ContactSums, contact_sums, measures_of, total
from callcenter.records import CallStep, StepKind

__all__ = [
    "FOLD_AFTER",
    "FOLD_AFTER_END",
    "AgentPanel",
    "Board",
    "CurrentCall",
    "QueuePanel",
    "Wallboard",
    "queue_thresholds",
]


@dataclass(frozen=True)
class CurrentCall:
    linkedid: str
    queue: str
    since: datetime


@dataclass(frozen=True)
class AgentPanel:
    extension: str
    name: str
    queues: tuple[str, ...]
    state: AgentState
    reason: str
    since: datetime | None  # None: not seen changing since the service started
    call: CurrentCall | None

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "extension": self.extension,
            "name": self.name,
            "queues": list(self.queues),
            "state": str(self.state),
            "reason": self.reason,
            "since": self.since.isoformat() if self.since is not None else None,
            "seconds_in_state": round((now - self.since).total_seconds()) if self.since is not None else None,
            "call": None
            if self.call is None
            else {"linkedid": self.call.linkedid, "queue": self.call.queue, "since": self.call.since.isoformat()},
        }


@dataclass(frozen=True)
class QueuePanel:
    name: str
    title: str
    waiting: int
    longest_wait: float
    agents: Mapping[str, int]  # state -> how many of the queue's agents are in it
    today: QueueMeasures
    thresholds: Thresholds
    shown: str  # the service-level variant shown: sl_offered, sl_answered or sl_asterisk2

    @property
    def service_level(self) -> float | None:
        value: float | None = getattr(self.today, self.shown)
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "waiting": self.waiting,
            "longest_wait": round(self.longest_wait, 1),
            "agents": dict(self.agents),
            "offered": self.today.offered,
            "answered": self.today.answered,
            "abandoned": self.today.abandoned,
            "short_abandoned": self.today.short_abandoned,
            "service_level": self.service_level,
            "service_level_name": self.shown,
            "target_seconds": self.thresholds.service_seconds,
            "abandonment_rate": self.today.abandonment_rate,
            "asa_seconds": self.today.asa_seconds,
        }


@dataclass(frozen=True)
class Board:
    at: datetime
    day: date
    queues: tuple[QueuePanel, ...]
    agents: tuple[AgentPanel, ...]

    def restricted(self, queues: Iterable[str], agents: Iterable[str]) -> Board:
        """Only these queues and agents (what one user may see)."""
        keep_queues, keep_agents = set(queues), set(agents)
        return Board(
            self.at,
            self.day,
            tuple(q for q in self.queues if q.name in keep_queues),
            tuple(a for a in self.agents if a.extension in keep_agents),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "day": self.day.isoformat(),
            "queues": [queue.to_json() for queue in self.queues],
            "agents": [agent.to_json(self.at) for agent in self.agents],
        }


_CALL_ENDS = (StepKind.ENDED, StepKind.TRANSFERRED)
# Steps after which a call has nothing more to say, unless a transfer or an overflow queues it again within
# seconds. (A callback request is not one: the callback's dialling comes later, under the same call.)
_LAST_WORDS = frozenset({StepKind.ENDED, StepKind.TRANSFERRED, StepKind.ABANDONED, StepKind.OVERFLOWED})
FOLD_AFTER_END = timedelta(minutes=2)
FOLD_AFTER = timedelta(hours=4)
_FOLD_EVERY = timedelta(seconds=30)


def _default_thresholds(queue: str) -> Thresholds:
    return Thresholds()


def queue_thresholds(dialplan: Dialplan, queue: str) -> Thresholds:
    """The queue's T and S in ``dialplan``; the defaults for a queue it does not have (removed by a reload)."""
    rules = dialplan.queues.get(queue)
    if rules is None:
        return Thresholds()
    level = rules.service_level
    return Thresholds(float(level.target_seconds), float(level.short_abandon_seconds))


@dataclass
class _OpenCall:
    """A call of today's whose steps may still change its contacts."""

    steps: list[CallStep] = field(default_factory=list)
    contacts: list[QueueContact] = field(default_factory=list)
    last: datetime | None = None


class Wallboard:
    def __init__(self, zone: tzinfo, thresholds: Callable[[str], Thresholds] = _default_thresholds) -> None:
        """``thresholds``: a queue's T and S now (the dialplan in service), for contacts folded into sums."""
        self._zone = zone
        self._thresholds = thresholds
        self._day: date | None = None
        self._open: dict[tuple[str, str], _OpenCall] = {}  # today's calls that may still change
        self._folded: dict[str, ContactSums] = {}  # per queue: today's contacts of calls over and done with
        self._latest: datetime | None = None  # the latest fact's time: when to fold (no clock here)
        self._next_fold: datetime | None = None
        # Per queue (and its thresholds, which a reload may change), dropped when a step of the queue arrives.
        self._measures: dict[str, tuple[Thresholds, QueueMeasures]] = {}
        self._since: dict[str, datetime] = {}
        self._states: dict[str, tuple[AgentState, str]] = {}
        self._calls: dict[str, CurrentCall] = {}

    @property
    def calls_kept(self) -> int:
        """Calls whose steps are held now (the rest are sums): what the wallboard's memory grows with."""
        return len(self._open)

    def agent_state(self, agent: str, state: AgentState, reason: str, at: datetime) -> None:
        if self._states.get(agent) != (state, reason):
            self._states[agent] = (state, reason)
            self._since[agent] = at
        if state is not AgentState.ON_CALL:
            self._calls.pop(agent, None)

    def step(self, step: CallStep) -> None:
        if step.kind is StepKind.CONNECTED and step.agent:
            self._calls[step.agent] = CurrentCall(step.linkedid, step.queue, step.at)
        elif step.kind in _CALL_ENDS and step.agent:
            current = self._calls.get(step.agent)
            if current is not None and current.linkedid == step.linkedid:
                del self._calls[step.agent]
        self._roll(step.at)
        key = (step.node, step.linkedid)
        call = self._open.get(key)
        if call is None:
            if step.kind is not StepKind.QUEUED or self._local_day(step.at) != self._day:
                return  # a call that entered no queue today (or folded already): not today's figures
            call = self._open[key] = _OpenCall()
        call.steps.append(step)
        call.last = step.at if call.last is None else max(call.last, step.at)
        before = {c.queue for c in call.contacts}
        call.contacts = contacts_from_steps(call.steps)
        for queue in before | {c.queue for c in call.contacts}:
            self._measures.pop(queue, None)
        if self._latest is None or step.at > self._latest:
            self._latest = step.at
        if self._next_fold is None or self._latest >= self._next_fold:
            self._fold(self._latest)
            self._next_fold = self._latest + _FOLD_EVERY

    def _fold(self, now: datetime) -> None:
        """Fold the calls that are over (or long quiet) into their queues' sums, and drop their steps."""
        for key, call in list(self._open.items()):
            assert call.last is not None
            quiet = now - call.last
            ended = call.steps[-1].kind in _LAST_WORDS
            if quiet < FOLD_AFTER and not (ended and quiet >= FOLD_AFTER_END):
                continue
            for contact in call.contacts:
                if self._local_day(contact.entered_at) == self._day:
                    folded = self._folded.get(contact.queue, ContactSums())
                    self._folded[contact.queue] = folded + contact_sums(contact, self._thresholds(contact.queue))
                    self._measures.pop(contact.queue, None)
            del self._open[key]

    def board(
        self,
        now: datetime,
        dialplan: Dialplan,
        waits: Mapping[str, tuple[int, float]],
        states: Mapping[str, tuple[AgentState, str]],
        calls: Mapping[str, tuple[str, str]] | None = None,
    ) -> Board:
        """The board at ``now``: ``waits`` and ``states`` are the ACD's live figures (queue_waits, agent_states);
        ``calls`` the (linkedid, queue) of the call each agent is on, as the live call legs know it (the call
        steps tell of a conversation only once it is over)."""
        self._roll(now)
        agents = []
        for agent in dialplan.agents:
            state, reason = states.get(agent.extension, (AgentState.LOGGED_OUT, ""))
            since = self._since.get(agent.extension)
            call = None
            if state is AgentState.ON_CALL:
                live = (calls or {}).get(agent.extension)
                if live is not None:
                    call = CurrentCall(live[0], live[1], since or now)
                else:
                    call = self._calls.get(agent.extension)
            agents.append(AgentPanel(agent.extension, agent.name, agent.queues, state, reason, since, call))
        queues = []
        for name, rules in dialplan.queues.items():
            counts: dict[str, int] = {str(state): 0 for state in AgentState}
            for panel in agents:
                if name in panel.queues:
                    counts[str(panel.state)] += 1
            waiting, longest = waits.get(name, (0, 0.0))
            thresholds = queue_thresholds(dialplan, name)
            today = self._today(name, thresholds)
            shown = rules.service_level.shown
            queues.append(QueuePanel(name, rules.name, waiting, longest, counts, today, thresholds, shown))
        assert self._day is not None
        return Board(now, self._day, tuple(queues), tuple(agents))

    def _today(self, queue: str, thresholds: Thresholds) -> QueueMeasures:
        cached = self._measures.get(queue)
        if cached is not None and cached[0] == thresholds:
            return cached[1]
        kept = total(
            contact_sums(contact, thresholds)
            for call in self._open.values()
            for contact in call.contacts
            if contact.queue == queue and self._local_day(contact.entered_at) == self._day
        )
        measured = measures_of(self._folded.get(queue, ContactSums()) + kept)
        self._measures[queue] = (thresholds, measured)
        return measured

    def _local_day(self, at: datetime) -> date:
        return at.astimezone(self._zone).date()

    def _roll(self, at: datetime) -> None:
        """A new day (or the first fact): yesterday's figures go."""
        day = self._local_day(at)
        if self._day is None or day > self._day:
            self._day = day
            self._open.clear()
            self._folded.clear()
            self._measures.clear()
