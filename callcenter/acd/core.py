"""The routing state machine: contacts waiting in queues, agents in states, and who is offered what.

Theory of operation
-------------------
``Acd.handle(event)`` is the only way in and returns the commands the shell
must carry out (ring agents, stop ringing, overflow a contact, publish an
agent's state). The core does no I/O and reads no clock: every event carries
its time, and ``next_deadline()`` tells the shell when to send ``TimerFired``
(end of wrap-up, a ring the shell never reported back, a contact reaching its
queue's max wait or its skill relaxation).

Routing rules, in order:
1. A contact is offered to one agent at a time (all eligible available agents
   at once for a ring-all queue; the first to answer wins).
2. Among waiting contacts, higher priority first (VIPs), then the oldest.
   A contact whose offer failed keeps its place: it is still the oldest.
3. Among available agents, the best skilled for the queue (sum of the levels of
   the queue's skills) first, then the queue's strategy: longest idle,
   round robin (per queue, least recently offered), fewest calls, random,
   linear (the agents' order).
4. An agent must be a member of the queue and hold each of its skills at the
   required level; after ``relax_after`` seconds of waiting, any member may
   take the contact.
5. After each event no contact waits while an available agent could take it.

Data structures: per queue, two heaps of waiting contacts (strict and relaxed
phase) and two heaps of available agents (strictly eligible, and any member),
all with lazy deletion: an entry is skipped when its object has moved on
(its ``version`` changed). An event costs O(queues per agent x log n), never a
scan of all agents or all contacts (app_queue's weakness at scale).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from callcenter.acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentProfile,
    AgentState,
    AgentStateChanged,
    AgentUnpaused,
    CallResumed,
    CancelOffer,
    Command,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    ContactKind,
    Event,
    Offer,
    OfferAnswered,
    OfferFailed,
    Overflow,
    QueueRules,
    RulesChanged,
    TimerFired,
)
from callcenter.errors import CallcenterError

__all__ = ["RING_GRACE", "Acd", "AcdError", "AgentProfile", "QueueRules"]

STRATEGIES = ("longest_idle", "round_robin", "fewest_calls", "ring_all", "random", "linear")
RING_GRACE = 10.0  # beyond the ring timeout, a ring the shell never reported back counts as no answer
# (the shell may start ringing a few seconds late: it finishes the part of an announcement playing)
_DEFAULT_HANDLE_TIME = 180.0


class AcdError(CallcenterError):
    """An event that cannot happen in the current state (the shell's bug, or a lost event)."""


class _Phase(Enum):
    WAITING = 1
    OFFERED = 2
    CONNECTED = 3
    GONE = 4


class _Contact:
    __slots__ = (
        "answered_at",
        "arrived",
        "clock",
        "contact",
        "kind",
        "offered",
        "phase",
        "priority",
        "queue",
        "relaxed",
        "seq",
        "since",
        "version",
    )

    def __init__(
        self, contact: str, queue: str, priority: int, arrived: float, since: float, seq: int, kind: ContactKind
    ) -> None:
        self.contact = contact
        self.queue = queue
        self.priority = priority
        self.arrived = arrived
        self.since = since  # the place in line: when the contact began to wait
        self.seq = seq
        self.kind = kind
        self.clock = seq  # tells this contact's current timers from older ones (and from an earlier namesake's)
        self.phase = _Phase.WAITING
        self.relaxed = False
        self.offered: set[str] = set()
        self.version = 0
        self.answered_at = 0.0


class _Agent:
    __slots__ = (
        "busy_contact",
        "calls",
        "idle_since",
        "last_offer",
        "members",
        "missed",
        "order",
        "pending",
        "profile",
        "random_key",
        "reason",
        "score",
        "state",
        "strict",
        "version",
    )

    def __init__(self, profile: AgentProfile, members: tuple[str, ...], strict: frozenset[str], order: int) -> None:
        self.profile = profile
        self.members = members  # the agent's queues that exist
        self.strict = strict  # of those, the queues whose skill requirements the agent meets
        self.order = order
        self.score: dict[str, int] = {}  # per queue: the sum of the agent's levels in the queue's skills
        self.state = AgentState.LOGGED_OUT
        self.version = 0
        self.idle_since = 0.0
        self.calls = 0
        self.missed = 0
        self.last_offer: dict[str, int] = {}
        self.random_key = 0.0
        self.busy_contact: str | None = None
        self.reason = ""
        self.pending: tuple[AgentState, str] | None = None  # a pause or log-out asked for during a call


_AgentEntry = tuple[int, float, int, str, int]  # (-skill score, strategy key, order, agent, version)
_ContactEntry = tuple[int, float, int, str, int]  # (-priority, waiting since, arrival seq, contact, version)


@dataclass(slots=True)
class _QueueIndex:
    rules: QueueRules
    waiting: list[_ContactEntry] = field(default_factory=list)
    relaxed: list[_ContactEntry] = field(default_factory=list)
    agents_strict: list[tuple[int, float, int, str, int]] = field(default_factory=list)
    agents_any: list[tuple[int, float, int, str, int]] = field(default_factory=list)
    waiting_count: int = 0
    logged_in: int = 0  # members not logged out
    staffed: int = 0  # members logged in and not paused
    handle_time: float = _DEFAULT_HANDLE_TIME  # moving average, for the estimated wait


def _queue_indexes(queues: Iterable[QueueRules]) -> dict[str, _QueueIndex]:
    indexes = {}
    for rules in queues:
        if rules.strategy not in STRATEGIES:
            raise AcdError(f"queue {rules.name}: unknown strategy {rules.strategy!r}")
        indexes[rules.name] = _QueueIndex(rules)
    return indexes


def _place(contact: _Contact) -> tuple[int, float, int]:
    """Rule 2: the order of waiting contacts (smaller first)."""
    return (-contact.priority, contact.since, contact.seq)


class Acd:
    def __init__(self, queues: Iterable[QueueRules], agents: Iterable[AgentProfile], seed: int = 0) -> None:
        self._queues = _queue_indexes(queues)
        self._agents: dict[str, _Agent] = {}
        for order, profile in enumerate(agents, start=1):
            agent = _Agent(profile, (), frozenset(), 0)
            self._profile(agent, profile, order)
            self._agents[profile.agent] = agent
        self._contacts: dict[str, _Contact] = {}
        self._timers: list[tuple[float, int, str, str, int]] = []  # (at, seq, kind, key, version)
        self._seq = 0
        self._random = random.Random(seed)
        self._fresh: list[_Agent] = []  # agents made available by the event being handled
        self._deferred: list[_Contact] | None = None  # contacts to route once every due timer has fired

    # --- the one way in -------------------------------------------------------------------------------------

    def handle(self, event: Event) -> list[Command]:
        out: list[Command] = []
        self._fresh.clear()
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
            self._abandoned(event, out)
        elif isinstance(event, AgentLoggedIn):
            self._logged_in(event, out)
        elif isinstance(event, AgentLoggedOut):
            self._agent_leaves(event.at, event.agent, AgentState.LOGGED_OUT, "", out)
        elif isinstance(event, AgentPaused):
            self._agent_leaves(event.at, event.agent, AgentState.PAUSED, event.reason, out)
        elif isinstance(event, AgentUnpaused):
            self._unpaused(event, out)
        elif isinstance(event, RulesChanged):
            self._rules_changed(event, out)
        elif isinstance(event, CallResumed):
            self._resumed(event, out)
        else:  # pragma: no cover - the union is exhaustive
            raise AcdError(f"unknown event {event!r}")
        self._route(event.at, [], out)  # rule 5
        return out

    def next_deadline(self) -> float | None:
        """When the shell must send TimerFired next, or None."""
        while self._timers and not self._timer_valid(self._timers[0]):
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    # --- queries (for announcements, the wallboard and tests) --------------------------------------------

    def agent_state(self, agent: str) -> AgentState:
        return self._agent(agent).state

    def waiting(self, queue: str) -> int:
        return self._queue(queue).waiting_count

    def queue_names(self) -> list[str]:
        return list(self._queues)

    def longest_waits(self, now: float) -> dict[str, float]:
        """Per queue with someone waiting: the longest wait so far, in seconds (from the place in line). O(contacts)."""
        oldest: dict[str, float] = {}
        for contact in self._contacts.values():
            if contact.phase is _Phase.WAITING:
                oldest[contact.queue] = min(oldest.get(contact.queue, now), contact.since)
        return {queue: now - since for queue, since in oldest.items()}

    def waiting_contacts(self) -> list[str]:
        return [contact.contact for contact in self._contacts.values() if contact.phase is _Phase.WAITING]

    def can_take(self, agent: str, contact: str) -> bool:
        """Whether the agent may be offered the contact now, by membership and skills (not by state)."""
        record, person = self._contacts[contact], self._agent(agent)
        return record.queue in person.members and (record.relaxed or record.queue in person.strict)

    def position(self, contact: str) -> int:
        """1 for the next contact of its queue to be offered; 0 when not waiting. O(contacts)."""
        record = self._contacts.get(contact)
        if record is None or record.phase is not _Phase.WAITING:
            return 0
        key = _place(record)
        ahead = sum(
            1
            for other in self._contacts.values()
            if other.queue == record.queue and other.phase is _Phase.WAITING and _place(other) < key
        )
        return ahead + 1

    def estimated_wait(self, queue: str, position: int) -> float:
        """Seconds a contact at ``position`` may still wait: recent handle time x position / staffed agents."""
        index = self._queue(queue)
        return index.handle_time * position / max(1, index.staffed)

    # --- events ---------------------------------------------------------------------------------------------

    def _arrived(self, event: ContactArrived, out: list[Command]) -> None:
        index = self._queue(event.queue)
        if event.contact in self._contacts:
            raise AcdError(f"contact {event.contact} arrived twice")
        rules = index.rules
        if event.kind is ContactKind.CALL:  # a callback was promised: it waits for an agent, however long
            if index.logged_in == 0:
                out.append(Overflow(event.contact, event.queue, "no_agents"))
                return
            if rules.max_length is not None and index.waiting_count >= rules.max_length:
                out.append(Overflow(event.contact, event.queue, "max_length"))
                return
        self._seq += 1
        since = min(event.at, event.since) if event.since is not None else event.at
        contact = _Contact(event.contact, event.queue, event.priority, event.at, since, self._seq, event.kind)
        self._contacts[event.contact] = contact
        self._contact_timers(contact)
        index.waiting_count += 1
        self._enqueue(contact)
        self._offer_contact(event.at, contact, out)

    def _answered(self, event: OfferAnswered, out: list[Command]) -> None:
        contact = self._contacts.get(event.contact)
        agent = self._agent(event.agent)
        if contact is None or contact.phase is not _Phase.OFFERED or event.agent not in contact.offered:
            # Too late: the caller left, or another agent of a ring-all answered first.
            out.append(CancelOffer(event.contact, event.agent))
            return
        for other in sorted(contact.offered - {event.agent}):
            out.append(CancelOffer(contact.contact, other))
            self._become_available(event.at, self._agents[other], out)
        contact.offered = {event.agent}
        contact.phase = _Phase.CONNECTED
        contact.answered_at = event.at
        agent.calls += 1
        agent.missed = 0
        self._set_state(event.at, agent, AgentState.ON_CALL, "", out)

    def _failed(self, at: float, contact_id: str, agent_id: str, reason: str, out: list[Command]) -> None:
        contact = self._contacts.get(contact_id)
        agent = self._agent(agent_id)
        if contact is None or contact.phase is not _Phase.OFFERED or agent_id not in contact.offered:
            return  # already settled (answered elsewhere, abandoned, timed out)
        if reason == "no_answer":
            agent.missed += 1
        agent.busy_contact = None
        if reason == "unreachable" or agent.missed >= agent.profile.no_answer_limit:
            self._set_state(
                at, agent, AgentState.PAUSED, "unreachable" if reason == "unreachable" else "no_answer", out
            )
            self._staffing(agent, -1)
            self._withdraw(at, contact, agent_id, out)
        else:
            # Idle from now: the agent who just missed the call is not the first to get it again.
            self._withdraw(at, contact, agent_id, out, then_available=agent)

    def _ended(self, event: ContactEnded, out: list[Command]) -> None:
        agent = self._agent(event.agent)
        waiting = self._contacts.get(event.contact)
        if waiting is not None and waiting.phase is not _Phase.CONNECTED:
            # Never answered, so it is no call the agent had: the caller left.
            self._remove(event.at, waiting, out)
            return
        contact = self._contacts.pop(event.contact, None)
        wrap_up = 0.0
        if contact is not None:
            contact.phase = _Phase.GONE
            index = self._queues.get(contact.queue) or _QueueIndex(QueueRules(contact.queue))
            wrap_up = index.rules.wrap_up
            index.handle_time += 0.1 * (event.at - contact.answered_at + wrap_up - index.handle_time)
        if agent.busy_contact != event.contact:
            return
        agent.busy_contact = None
        if wrap_up > 0:
            # Wrap-up is the agent's, across all queues: no queue offers anything until it ends, and a pause
            # or log-out asked for meanwhile waits for its end too (the wrap-up time is work, not a pause).
            self._set_state(event.at, agent, AgentState.WRAP_UP, "", out)
            self._timer(event.at + wrap_up, "wrap_up", agent.profile.agent, agent.version)
        else:
            self._after_work(event.at, agent, out)

    def _after_work(self, at: float, agent: _Agent, out: list[Command]) -> None:
        """The call and its wrap-up are over: what the agent asked for meanwhile, or available."""
        if agent.pending is None:
            self._become_available(at, agent, out)
            return
        state, reason = agent.pending
        agent.pending = None
        self._set_state(at, agent, state, reason, out)
        if state is AgentState.LOGGED_OUT:
            self._membership(agent, -1, -1)
        else:
            self._staffing(agent, -1)

    def _abandoned(self, event: ContactAbandoned, out: list[Command]) -> None:
        contact = self._contacts.get(event.contact)
        if contact is None or contact.phase is _Phase.CONNECTED:
            return
        self._remove(event.at, contact, out)

    def _logged_in(self, event: AgentLoggedIn, out: list[Command]) -> None:
        agent = self._agent(event.agent)
        if agent.pending is not None and agent.pending[0] is AgentState.LOGGED_OUT:
            agent.pending = None  # logged back in before the call that was to end the shift ended
        if agent.state is not AgentState.LOGGED_OUT:
            return
        self._membership(agent, +1, +1)
        agent.missed = 0
        self._become_available(event.at, agent, out)

    def _agent_leaves(self, at: float, agent_id: str, state: AgentState, reason: str, out: list[Command]) -> None:
        agent = self._agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT or (agent.state is state and agent.reason == reason):
            return
        if agent.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
            agent.pending = (state, reason)  # after this call and its wrap-up
            return
        staffed = agent.state is not AgentState.PAUSED
        ringing = self._contacts.get(agent.busy_contact or "") if agent.state is AgentState.RINGING else None
        agent.busy_contact = None
        self._set_state(at, agent, state, reason, out)
        if state is AgentState.LOGGED_OUT:
            self._membership(agent, -1, -1 if staffed else 0)
        elif staffed:
            self._staffing(agent, -1)
        if ringing is not None:
            out.append(CancelOffer(ringing.contact, agent_id))
            self._withdraw(at, ringing, agent_id, out)

    def _unpaused(self, event: AgentUnpaused, out: list[Command]) -> None:
        agent = self._agent(event.agent)
        if agent.pending is not None:
            if agent.pending[0] is AgentState.PAUSED:
                agent.pending = None  # the pause asked for during the call is taken back (a log-out stays)
                agent.missed = 0
            return
        if agent.state is not AgentState.PAUSED:
            return
        agent.missed = 0
        self._staffing(agent, +1)
        self._become_available(event.at, agent, out)

    def _resumed(self, event: CallResumed, out: list[Command]) -> None:
        """A conversation that outlived a restart: the agent is on it (if logged in and free), until it ends."""
        agent = self._agent(event.agent)
        if event.contact in self._contacts or event.queue not in self._queues:
            return
        self._seq += 1
        contact = _Contact(event.contact, event.queue, 0, event.at, event.at, self._seq, ContactKind.CALL)
        contact.phase = _Phase.CONNECTED
        contact.answered_at = event.at
        contact.offered = {event.agent}
        self._contacts[event.contact] = contact
        if agent.state is AgentState.AVAILABLE:
            agent.busy_contact = event.contact
            self._set_state(event.at, agent, AgentState.ON_CALL, "", out)
        elif agent.state is AgentState.PAUSED and agent.busy_contact is None:
            # Paused (restored so) while talking: the pause goes on after the call, as asked during one.
            agent.busy_contact = event.contact
            agent.pending = (AgentState.PAUSED, agent.reason)
            self._staffing(agent, +1)
            self._set_state(event.at, agent, AgentState.ON_CALL, "", out)

    def _rules_changed(self, event: RulesChanged, out: list[Command]) -> None:
        """New queues and agents from a reload; states and places are kept, every index is rebuilt. O(n)."""
        at = event.at
        old_queues, self._queues = self._queues, _queue_indexes(event.queues)
        for name, index in self._queues.items():
            if name in old_queues:
                index.handle_time = old_queues[name].handle_time
        profiles = {profile.agent: (order, profile) for order, profile in enumerate(event.agents, start=1)}
        for agent_id, agent in self._agents.items():
            if agent_id not in profiles:  # gone from the dialplan: a member of nothing, logged out
                self._profile(agent, AgentProfile(agent_id, ()), agent.order)
                if agent.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
                    agent.pending = (AgentState.LOGGED_OUT, "")
                elif agent.state is not AgentState.LOGGED_OUT and agent.state is not AgentState.RINGING:
                    self._set_state(at, agent, AgentState.LOGGED_OUT, "", out)
        for agent_id, (order, profile) in profiles.items():
            if agent_id in self._agents:
                self._profile(self._agents[agent_id], profile, order)
            else:
                self._agents[agent_id] = agent = _Agent(profile, (), frozenset(), 0)
                self._profile(agent, profile, order)
        for contact in list(self._contacts.values()):
            if contact.phase is _Phase.CONNECTED:
                continue
            if contact.queue not in self._queues:
                for agent_id in sorted(contact.offered):
                    out.append(CancelOffer(contact.contact, agent_id))
                    self._agents[agent_id].busy_contact = None
                    state = AgentState.AVAILABLE if agent_id in profiles else AgentState.LOGGED_OUT
                    self._set_state(at, self._agents[agent_id], state, "", out)
                del self._contacts[contact.contact]
                contact.phase = _Phase.GONE
                out.append(Overflow(contact.contact, contact.queue, "queue_removed"))
                continue
            for agent_id in sorted(contact.offered):
                agent = self._agents[agent_id]
                if contact.queue not in agent.members:  # a ringing agent who left the queue (or the dialplan)
                    out.append(CancelOffer(contact.contact, agent_id))
                    contact.offered.discard(agent_id)
                    agent.busy_contact = None
                    gone = agent_id not in profiles
                    self._set_state(at, agent, AgentState.LOGGED_OUT if gone else AgentState.AVAILABLE, "", out)
            if not contact.offered:
                contact.phase = _Phase.WAITING
            self._seq += 1
            contact.clock = self._seq  # the old rules' timers are void
            self._contact_timers(contact)
        for agent in self._agents.values():
            if agent.state is not AgentState.LOGGED_OUT:
                staffed = 0 if agent.state is AgentState.PAUSED else 1
                self._membership(agent, +1, staffed)
            if agent.state is AgentState.AVAILABLE:
                self._push_available(agent)
                self._fresh.append(agent)  # rule 5 looks at every available agent
        for contact in self._contacts.values():
            if contact.phase is _Phase.WAITING:
                self._queues[contact.queue].waiting_count += 1
                self._enqueue(contact)

    def _profile(self, agent: _Agent, profile: AgentProfile, order: int) -> None:
        """Membership, skills and the skill score per queue, from the agent's profile and the queues' rules."""
        agent.profile = profile
        agent.members = tuple(name for name in profile.queues if name in self._queues)
        agent.strict = frozenset(
            name
            for name in agent.members
            if all(profile.skills.get(skill, 0) >= level for skill, level in self._queues[name].rules.skills.items())
        )
        agent.order = profile.order or order
        agent.score = {
            name: sum(profile.skills.get(skill, 0) for skill in self._queues[name].rules.skills)
            for name in agent.members
        }

    def _timers_due(self, now: float, out: list[Command]) -> None:
        self._deferred = []
        try:
            self._fire_timers(now, out)
        finally:
            deferred, self._deferred = self._deferred, None
        self._route(now, deferred, out)

    def _fire_timers(self, now: float, out: list[Command]) -> None:
        while self._timers and self._timers[0][0] <= now:
            timer = heapq.heappop(self._timers)
            if not self._timer_valid(timer):
                continue
            at, _, kind, key, _ = timer
            if kind == "wrap_up":
                self._after_work(at, self._agents[key], out)
            elif kind == "ring":
                contact_id, agent_id = key.split("\0")
                out.append(CancelOffer(contact_id, agent_id))  # the shell never said: stop ringing now
                self._failed(at, contact_id, agent_id, "no_answer", out)
            elif kind == "max_wait":
                contact = self._contacts[key]
                self._remove(at, contact, out)
                out.append(Overflow(contact.contact, contact.queue, "max_wait"))
            elif kind == "relax":
                contact = self._contacts[key]
                contact.relaxed = True
                if contact.phase is _Phase.WAITING:
                    self._enqueue(contact)
                    self._offer_contact(at, contact, out)

    # --- offering -------------------------------------------------------------------------------------------

    def _offer_contact(self, at: float, contact: _Contact, out: list[Command]) -> None:
        """Offer a waiting contact to the best available agent(s) of its queue, if any."""
        if self._deferred is not None:
            self._deferred.append(contact)  # timers firing together: route once all of them have fired
            return
        index = self._queues[contact.queue]
        heap = index.agents_any if contact.relaxed else index.agents_strict
        if index.rules.strategy == "ring_all":
            chosen = []
            while (agent := self._pop_agent(heap)) is not None:
                chosen.append(agent)
        else:
            agent = self._pop_agent(heap)
            chosen = [agent] if agent is not None else []
        if not chosen:
            return
        contact.phase = _Phase.OFFERED
        contact.offered = {agent.profile.agent for agent in chosen}
        index.waiting_count -= 1
        self._seq += 1
        for agent in chosen:
            agent.last_offer[contact.queue] = self._seq
            agent.busy_contact = contact.contact
            self._set_state(at, agent, AgentState.RINGING, "", out)
            self._timer(
                at + index.rules.ring_timeout + RING_GRACE,
                "ring",
                f"{contact.contact}\0{agent.profile.agent}",
                agent.version,
            )
        out.append(
            Offer(contact.contact, contact.queue, tuple(a.profile.agent for a in chosen), index.rules.ring_timeout)
        )

    def _route(self, at: float, contacts: list[_Contact], out: list[Command]) -> None:
        """After an event: while an available agent could take a waiting contact, offer the best such contact.

        Candidates are the contacts the event put back or relaxed (``contacts``) and the best contact each
        agent made available can take. Taking them best first (priority, then arrival), each to its best
        agent, keeps both orders even when one event frees several agents or fires several timers.
        """
        pending = [c for c in contacts if c.phase is _Phase.WAITING]
        while True:
            candidates = [c for c in pending if c.phase is _Phase.WAITING and self._contacts.get(c.contact) is c]
            for agent in self._fresh:
                if agent.state is AgentState.AVAILABLE:
                    entry = self._best_for(agent)
                    if entry is not None:
                        candidates.append(self._contacts[entry[3]])
            if not candidates:
                return
            best = min(candidates, key=_place)
            self._offer_contact(at, best, out)
            if best.phase is _Phase.WAITING:
                pending = [c for c in pending if c is not best]  # nobody free can take it: it waits

    def _best_for(self, agent: _Agent) -> _ContactEntry | None:
        """The best waiting contact the agent may take, in any of its queues."""
        best: _ContactEntry | None = None
        for name in agent.members:
            index = self._queues[name]
            if name in agent.strict:
                entry = self._peek_contact(index.waiting, relaxed=False)
                if entry is not None and (best is None or entry < best):
                    best = entry
            entry = self._peek_contact(index.relaxed, relaxed=True)
            if entry is not None and (best is None or entry < best):
                best = entry
        return best

    def _pop_agent(self, heap: list[_AgentEntry]) -> _Agent | None:
        while heap:
            entry = heapq.heappop(heap)
            agent = self._agents[entry[3]]
            if agent.state is AgentState.AVAILABLE and agent.version == entry[4]:
                return agent
        return None

    def _peek_contact(self, heap: list[_ContactEntry], relaxed: bool) -> _ContactEntry | None:
        while heap:
            entry = heap[0]
            contact = self._contacts.get(entry[3])
            if (
                contact is not None
                and contact.phase is _Phase.WAITING
                and contact.version == entry[4]
                and contact.relaxed == relaxed
            ):
                return entry
            heapq.heappop(heap)
        return None

    # --- bookkeeping ----------------------------------------------------------------------------------------

    def _enqueue(self, contact: _Contact) -> None:
        """(Re)place a waiting contact in its queue's heap; its older entries become stale."""
        contact.version += 1
        index = self._queues[contact.queue]
        heapq.heappush(
            index.relaxed if contact.relaxed else index.waiting,
            (-contact.priority, contact.since, contact.seq, contact.contact, contact.version),
        )

    def _withdraw(
        self, at: float, contact: _Contact, agent_id: str, out: list[Command], then_available: _Agent | None = None
    ) -> None:
        """One agent no longer rings for the contact; with nobody left ringing, it waits at its old place."""
        contact.offered.discard(agent_id)
        if not contact.offered:
            contact.phase = _Phase.WAITING
            self._queues[contact.queue].waiting_count += 1
            self._enqueue(contact)
            if then_available is not None:
                # Offer the contact before the agent who missed it is available again.
                self._offer_contact(at, contact, out)
        if then_available is not None:
            self._become_available(at, then_available, out)
        elif contact.phase is _Phase.WAITING:
            self._offer_contact(at, contact, out)

    def _remove(self, at: float, contact: _Contact, out: list[Command]) -> None:
        """The contact leaves the queue (abandon, overflow): agents ringing for it are free again."""
        if contact.phase is _Phase.WAITING:
            self._queues[contact.queue].waiting_count -= 1
        for agent_id in sorted(contact.offered):
            out.append(CancelOffer(contact.contact, agent_id))
            agent = self._agents[agent_id]
            agent.busy_contact = None
            self._become_available(at, agent, out)
        contact.offered = set()
        contact.phase = _Phase.GONE
        del self._contacts[contact.contact]

    def _become_available(self, at: float, agent: _Agent, out: list[Command]) -> None:
        agent.idle_since = at
        agent.random_key = self._random.random()
        self._set_state(at, agent, AgentState.AVAILABLE, "", out)
        self._push_available(agent)
        self._fresh.append(agent)

    def _push_available(self, agent: _Agent) -> None:
        for name in agent.members:
            entry = (
                -agent.score[name],
                self._strategy_key(name, agent),
                agent.order,
                agent.profile.agent,
                agent.version,
            )
            index = self._queues[name]
            if index.rules.relax_after is not None:  # only relaxed contacts look here
                self._push_agent(index.agents_any, entry, index)
            if name in agent.strict:
                self._push_agent(index.agents_strict, entry, index)

    def _push_agent(self, heap: list[_AgentEntry], entry: _AgentEntry, index: _QueueIndex) -> None:
        heapq.heappush(heap, entry)
        if len(heap) > 64 and len(heap) > 4 * index.staffed:
            # Entries of agents who moved on pile up while nobody pops them: keep the live ones only.
            heap[:] = [
                e
                for e in heap
                if self._agents[e[3]].state is AgentState.AVAILABLE and self._agents[e[3]].version == e[4]
            ]
            heapq.heapify(heap)

    def _strategy_key(self, queue: str, agent: _Agent) -> float:
        strategy = self._queues[queue].rules.strategy
        if strategy == "longest_idle":
            return agent.idle_since
        if strategy == "round_robin":
            return agent.last_offer.get(queue, 0)
        if strategy == "fewest_calls":
            return agent.calls
        if strategy == "random":
            return agent.random_key
        return 0.0  # linear and ring-all: the order (the next field of the entry) decides

    def _set_state(self, at: float, agent: _Agent, state: AgentState, reason: str, out: list[Command]) -> None:
        agent.state = state
        agent.reason = reason
        agent.version += 1  # every older heap entry and timer of the agent is now stale
        out.append(AgentStateChanged(at, agent.profile.agent, state, reason))

    def _membership(self, agent: _Agent, logged_in: int, staffed: int) -> None:
        for name in agent.members:
            self._queues[name].logged_in += logged_in
            self._queues[name].staffed += staffed

    def _staffing(self, agent: _Agent, staffed: int) -> None:
        self._membership(agent, 0, staffed)

    def _contact_timers(self, contact: _Contact) -> None:
        """Max wait and skill relaxation, counted from when the contact began to wait."""
        rules = self._queues[contact.queue].rules
        if contact.kind is ContactKind.CALL:
            self._timer(contact.since + rules.max_wait, "max_wait", contact.contact, contact.clock)
        if rules.relax_after is not None and not contact.relaxed:
            self._timer(contact.since + rules.relax_after, "relax", contact.contact, contact.clock)

    def _timer(self, at: float, kind: str, key: str, version: int) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (at, self._seq, kind, key, version))

    def _timer_valid(self, timer: tuple[float, int, str, str, int]) -> bool:
        _, _, kind, key, version = timer
        if kind == "wrap_up":
            agent = self._agents[key]
            return agent.state is AgentState.WRAP_UP and agent.version == version
        if kind == "ring":
            contact_id, agent_id = key.split("\0")
            contact = self._contacts.get(contact_id)
            return (
                contact is not None
                and contact.phase is _Phase.OFFERED
                and agent_id in contact.offered
                and self._agents[agent_id].version == version
            )
        contact = self._contacts.get(key)
        if contact is None or contact.phase is _Phase.CONNECTED or contact.clock != version:
            return False
        return kind == "max_wait" or not contact.relaxed

    def _agent(self, agent: str) -> _Agent:
        try:
            return self._agents[agent]
        except KeyError:
            raise AcdError(f"unknown agent {agent!r}") from None

    def _queue(self, queue: str) -> _QueueIndex:
        try:
            return self._queues[queue]
        except KeyError:
            raise AcdError(f"unknown queue {queue!r}") from None
