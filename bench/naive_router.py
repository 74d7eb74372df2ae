"""A deliberately simple reference router: the ACD core's routing rules, by full scans.

The benchmark (``bench.acd_bench``) runs the same events through this router and through
``callcenter.acd.core.Acd`` and checks that both give the same commands, so the baseline is the same
router done the obvious way, not a straw man:

* a contact arrives: scan **all agents** for the best available one that may take it;
* an agent becomes available: scan **all waiting contacts** for the best one it may take, then offer that
  contact to the best available agent (a scan of all agents again), while the agent stays available.

The rules are the core's: higher priority first, then the oldest contact (a contact whose offer failed
keeps its place); among agents, the best skilled for the queue (sum of its levels in the queue's skills),
then the queue's strategy key, then the agent's order. An agent must be a member of the queue and hold
each of its skills at the required level. States, pauses and log-outs asked for during a call, wrap-up,
the ring timeout, the no-answer limit, ``max_wait`` and the ``no_agents`` overflow work as in the core.

Only the benchmarked path is implemented: the strategies longest_idle, round_robin, fewest_calls and
linear. ``ring_all``, ``random``, ``relax_after`` and ``max_length`` are refused in the constructor.
O(agents) per arrival, O(waiting contacts) per agent made available: correct, and slow on purpose.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from callcenter.acd.core import AgentProfile, QueueRules
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

__all__ = ["SUPPORTED_STRATEGIES", "NaiveRouter"]

SUPPORTED_STRATEGIES = ("longest_idle", "round_robin", "fewest_calls", "linear")
_RING_GRACE = 10.0  # as in the core: a ring the shell never reported back counts as no answer this much later

_WAITING, _OFFERED, _CONNECTED = "waiting", "offered", "connected"


@dataclass(slots=True)
class _Agent:
    agent: str
    members: tuple[str, ...]
    strict: frozenset[str]
    score: dict[str, int]
    order: int
    no_answer_limit: int
    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""
    version: int = 0
    idle_since: float = 0.0
    calls: int = 0
    missed: int = 0
    last_offer: dict[str, int] = field(default_factory=dict)
    busy_contact: str | None = None
    pending: tuple[AgentState, str] | None = None


@dataclass(slots=True)
class _Contact:
    contact: str
    queue: str
    priority: int
    since: float
    seq: int
    phase: str = _WAITING
    offered: set[str] = field(default_factory=set)


_Timer = tuple[float, int, str, str, str, int]  # (at, seq, kind, contact, agent, version)


class NaiveRouter:
    """Same interface as ``Acd``: ``handle(event) -> list[Command]`` and ``next_deadline()``."""

    def __init__(self, queues: Iterable[QueueRules], agents: Iterable[AgentProfile]) -> None:
        self._rules: dict[str, QueueRules] = {}
        for rules in queues:
            if rules.strategy not in SUPPORTED_STRATEGIES:
                raise ValueError(f"naive router: strategy {rules.strategy!r} is not implemented")
            if rules.relax_after is not None or rules.max_length is not None:
                raise ValueError("naive router: relax_after and max_length are not implemented")
            self._rules[rules.name] = rules
        self._agents: dict[str, _Agent] = {}
        for order, profile in enumerate(agents, start=1):
            members = tuple(name for name in profile.queues if name in self._rules)
            strict = frozenset(
                name
                for name in members
                if all(profile.skills.get(skill, 0) >= level for skill, level in self._rules[name].skills.items())
            )
            score = {name: sum(profile.skills.get(skill, 0) for skill in self._rules[name].skills) for name in members}
            self._agents[profile.agent] = _Agent(
                profile.agent, members, strict, score, profile.order or order, profile.no_answer_limit
            )
        self._contacts: dict[str, _Contact] = {}  # waiting, ringing or connected
        self._waiting: dict[str, _Contact] = {}  # waiting only: what an available agent scans
        self._timers: list[_Timer] = []
        self._arrivals = 0
        self._offers = 0
        self._timer_seq = 0
        self._fresh: list[_Agent] = []
        self._deferred: list[_Contact] | None = None

    # --- the interface ------------------------------------------------------------------------------------

    def handle(self, event: Event) -> list[Command]:
        out: list[Command] = []
        self._fresh = []
        if isinstance(event, ContactArrived):
            self._arrived(event, out)
        elif isinstance(event, TimerFired):
            self._timers_due(event.at, out)
        elif isinstance(event, OfferAnswered):
            self._answered(event, out)
        elif isinstance(event, OfferFailed):
            self._failed(event.at, event.contact, event.agent, event.reason, out)
        elif isinstance(event, ContactEnded):
            self._ended(event, out)
        elif isinstance(event, ContactAbandoned):
            contact = self._contacts.get(event.contact)
            if contact is not None and contact.phase != _CONNECTED:
                self._remove(event.at, contact, out)
        elif isinstance(event, AgentLoggedIn):
            agent = self._agent(event.agent)
            if agent.pending is not None and agent.pending[0] is AgentState.LOGGED_OUT:
                agent.pending = None
            if agent.state is AgentState.LOGGED_OUT:
                agent.missed = 0
                self._become_available(event.at, agent, out)
        elif isinstance(event, AgentLoggedOut):
            self._leaves(event.at, event.agent, AgentState.LOGGED_OUT, "", out)
        elif isinstance(event, AgentPaused):
            self._leaves(event.at, event.agent, AgentState.PAUSED, event.reason, out)
        elif isinstance(event, AgentUnpaused):
            self._unpaused(event, out)
        else:  # pragma: no cover - the union is exhaustive
            raise ValueError(f"unknown event {event!r}")
        self._route(event.at, [], out)
        return out

    def next_deadline(self) -> float | None:
        while self._timers and not self._timer_valid(self._timers[0]):
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    # --- the two full scans -------------------------------------------------------------------------------

    def _best_agent(self, queue: str) -> _Agent | None:
        """Every agent is looked at: the best available one holding the queue's skills."""
        strategy = self._rules[queue].strategy
        best: _Agent | None = None
        best_key: tuple[int, float, int, str] | None = None
        for agent in self._agents.values():
            if agent.state is not AgentState.AVAILABLE or queue not in agent.strict:
                continue
            if strategy == "longest_idle":
                tie: float = agent.idle_since
            elif strategy == "round_robin":
                tie = agent.last_offer.get(queue, 0)
            elif strategy == "fewest_calls":
                tie = agent.calls
            else:
                tie = 0.0
            key = (-agent.score[queue], tie, agent.order, agent.agent)
            if best_key is None or key < best_key:
                best, best_key = agent, key
        return best

    def _best_contact(self, agent: _Agent) -> _Contact | None:
        """Every waiting contact is looked at: the first by priority and arrival that the agent may take."""
        best: _Contact | None = None
        best_key: tuple[int, float, int] | None = None
        for contact in self._waiting.values():
            if contact.queue not in agent.strict:
                continue
            key = (-contact.priority, contact.since, contact.seq)
            if best_key is None or key < best_key:
                best, best_key = contact, key
        return best

    def _route(self, at: float, contacts: list[_Contact], out: list[Command]) -> None:
        """The best contact that a newly available agent could take (or that the timers put back) goes first."""
        pending = list(contacts)
        while True:
            candidates = [c for c in pending if c.contact in self._waiting]
            for agent in self._fresh:
                if agent.state is AgentState.AVAILABLE:
                    found = self._best_contact(agent)
                    if found is not None:
                        candidates.append(found)
            if not candidates:
                return
            best = min(candidates, key=lambda c: (-c.priority, c.since, c.seq))
            self._offer(at, best, out)
            if best.contact in self._waiting:
                pending = [c for c in pending if c is not best]

    def _offer(self, at: float, contact: _Contact, out: list[Command]) -> None:
        if self._deferred is not None:
            self._deferred.append(contact)  # timers firing together route once all have fired
            return
        agent = self._best_agent(contact.queue)
        if agent is None:
            return
        rules = self._rules[contact.queue]
        contact.phase = _OFFERED
        contact.offered = {agent.agent}
        del self._waiting[contact.contact]
        self._offers += 1
        agent.last_offer[contact.queue] = self._offers
        agent.busy_contact = contact.contact
        self._set_state(at, agent, AgentState.RINGING, "", out)
        self._timer(at + rules.ring_timeout + _RING_GRACE, "ring", contact.contact, agent.agent, agent.version)
        out.append(Offer(contact.contact, contact.queue, (agent.agent,), rules.ring_timeout))

    # --- events -------------------------------------------------------------------------------------------

    def _arrived(self, event: ContactArrived, out: list[Command]) -> None:
        if event.queue not in self._rules:
            raise ValueError(f"unknown queue {event.queue!r}")
        if event.contact in self._contacts:
            raise ValueError(f"contact {event.contact} arrived twice")
        if not any(a.state is not AgentState.LOGGED_OUT and event.queue in a.members for a in self._agents.values()):
            out.append(Overflow(event.contact, event.queue, "no_agents"))
            return
        self._arrivals += 1
        since = min(event.at, event.since) if event.since is not None else event.at
        contact = _Contact(event.contact, event.queue, event.priority, since, self._arrivals)
        self._contacts[event.contact] = contact
        self._waiting[event.contact] = contact
        self._timer(since + self._rules[event.queue].max_wait, "max_wait", event.contact, "", 0)
        self._offer(event.at, contact, out)

    def _answered(self, event: OfferAnswered, out: list[Command]) -> None:
        agent = self._agent(event.agent)
        contact = self._contacts.get(event.contact)
        if contact is None or contact.phase != _OFFERED or event.agent not in contact.offered:
            out.append(CancelOffer(event.contact, event.agent))
            return
        for other in sorted(contact.offered - {event.agent}):
            out.append(CancelOffer(contact.contact, other))
            self._become_available(event.at, self._agents[other], out)
        contact.offered = {event.agent}
        contact.phase = _CONNECTED
        agent.calls += 1
        agent.missed = 0
        self._set_state(event.at, agent, AgentState.ON_CALL, "", out)

    def _failed(self, at: float, contact_id: str, agent_id: str, reason: str, out: list[Command]) -> None:
        agent = self._agent(agent_id)
        contact = self._contacts.get(contact_id)
        if contact is None or contact.phase != _OFFERED or agent_id not in contact.offered:
            return
        if reason == "no_answer":
            agent.missed += 1
        agent.busy_contact = None
        if reason == "unreachable" or agent.missed >= agent.no_answer_limit:
            self._set_state(
                at, agent, AgentState.PAUSED, "unreachable" if reason == "unreachable" else "no_answer", out
            )
            self._withdraw(at, contact, agent_id, out, None)
        else:
            self._withdraw(at, contact, agent_id, out, agent)

    def _ended(self, event: ContactEnded, out: list[Command]) -> None:
        agent = self._agent(event.agent)
        contact = self._contacts.pop(event.contact, None)
        wrap_up = 0.0
        if contact is not None:
            self._waiting.pop(event.contact, None)
            wrap_up = self._rules[contact.queue].wrap_up
        if agent.busy_contact != event.contact:
            return
        agent.busy_contact = None
        if wrap_up > 0:
            self._set_state(event.at, agent, AgentState.WRAP_UP, "", out)
            self._timer(event.at + wrap_up, "wrap_up", "", agent.agent, agent.version)
        else:
            self._after_work(event.at, agent, out)

    def _after_work(self, at: float, agent: _Agent, out: list[Command]) -> None:
        if agent.pending is None:
            self._become_available(at, agent, out)
            return
        state, reason = agent.pending
        agent.pending = None
        self._set_state(at, agent, state, reason, out)

    def _leaves(self, at: float, agent_id: str, state: AgentState, reason: str, out: list[Command]) -> None:
        agent = self._agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT or (agent.state is state and agent.reason == reason):
            return
        if agent.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
            agent.pending = (state, reason)
            return
        ringing = self._contacts.get(agent.busy_contact or "") if agent.state is AgentState.RINGING else None
        agent.busy_contact = None
        self._set_state(at, agent, state, reason, out)
        if ringing is not None:
            out.append(CancelOffer(ringing.contact, agent_id))
            self._withdraw(at, ringing, agent_id, out, None)

    def _unpaused(self, event: AgentUnpaused, out: list[Command]) -> None:
        agent = self._agent(event.agent)
        if agent.pending is not None:
            if agent.pending[0] is AgentState.PAUSED:
                agent.pending = None
                agent.missed = 0
            return
        if agent.state is not AgentState.PAUSED:
            return
        agent.missed = 0
        self._become_available(event.at, agent, out)

    def _timers_due(self, now: float, out: list[Command]) -> None:
        self._deferred = []
        try:
            self._fire(now, out)
        finally:
            deferred, self._deferred = self._deferred, None
        self._route(now, deferred, out)

    def _fire(self, now: float, out: list[Command]) -> None:
        while self._timers and self._timers[0][0] <= now:
            timer = heapq.heappop(self._timers)
            if not self._timer_valid(timer):
                continue
            at, _, kind, contact_id, agent_id, _ = timer
            if kind == "wrap_up":
                self._after_work(at, self._agents[agent_id], out)
            elif kind == "ring":
                out.append(CancelOffer(contact_id, agent_id))
                self._failed(at, contact_id, agent_id, "no_answer", out)
            else:  # max_wait
                contact = self._contacts[contact_id]
                self._remove(at, contact, out)
                out.append(Overflow(contact.contact, contact.queue, "max_wait"))

    # --- bookkeeping --------------------------------------------------------------------------------------

    def _withdraw(
        self, at: float, contact: _Contact, agent_id: str, out: list[Command], then_available: _Agent | None
    ) -> None:
        contact.offered.discard(agent_id)
        if not contact.offered:
            contact.phase = _WAITING
            self._waiting[contact.contact] = contact
            if then_available is not None:
                self._offer(at, contact, out)  # before the agent who missed it is available again
        if then_available is not None:
            self._become_available(at, then_available, out)
        elif contact.phase == _WAITING:
            self._offer(at, contact, out)

    def _remove(self, at: float, contact: _Contact, out: list[Command]) -> None:
        for agent_id in sorted(contact.offered):
            out.append(CancelOffer(contact.contact, agent_id))
            agent = self._agents[agent_id]
            agent.busy_contact = None
            self._become_available(at, agent, out)
        contact.offered = set()
        del self._contacts[contact.contact]
        self._waiting.pop(contact.contact, None)

    def _become_available(self, at: float, agent: _Agent, out: list[Command]) -> None:
        agent.idle_since = at
        self._set_state(at, agent, AgentState.AVAILABLE, "", out)
        self._fresh.append(agent)

    def _set_state(self, at: float, agent: _Agent, state: AgentState, reason: str, out: list[Command]) -> None:
        agent.state = state
        agent.reason = reason
        agent.version += 1
        out.append(AgentStateChanged(at, agent.agent, state, reason))

    def _timer(self, at: float, kind: str, contact: str, agent: str, version: int) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (at, self._timer_seq, kind, contact, agent, version))

    def _timer_valid(self, timer: _Timer) -> bool:
        _, _, kind, contact_id, agent_id, version = timer
        if kind == "wrap_up":
            agent = self._agents[agent_id]
            return agent.state is AgentState.WRAP_UP and agent.version == version
        contact = self._contacts.get(contact_id)
        if kind == "ring":
            return (
                contact is not None
                and contact.phase == _OFFERED
                and agent_id in contact.offered
                and self._agents[agent_id].version == version
            )
        return contact is not None and contact.phase != _CONNECTED

    def _agent(self, agent_id: str) -> _Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise ValueError(f"unknown agent {agent_id!r}") from None
