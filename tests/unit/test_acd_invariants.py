"""The ACD core's invariants under generated scenarios, and the long-run fairness of its strategies.

A ``Harness`` plays the shell around ``Acd``: it owns a fake clock, feeds events, keeps the model the shell
would keep from the commands alone (which agent rings for which contact, who is connected, every agent's
published state), and sends ``TimerFired`` at each ``next_deadline()`` the clock passes. After every
``handle()`` it checks the model against the core and the routing rules (``_check``); a broken rule raises
``AssertionError`` with the last events seen. Plain synchronous tests: no event loop, no mocks.

Defects found in ``callcenter/acd/core.py`` are not fixed here: each one has a strict ``xfail`` test below
(``KNOWN BUGS``) that shows it; the generated scenarios tolerate exactly those, by name, so they keep checking
everything else.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest

from callcenter.acd.core import STRATEGIES, Acd, AgentProfile, QueueRules
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

RING_GRACE = 5.0  # core._RING_GRACE: a ring the shell never reports back counts as no answer this much later
EPS = 1e-9

# Tolerances the generated scenarios grant, one per bug shown by a strict xfail test below.
RING_TIMEOUT_WITHOUT_CANCEL = "ring_timeout_without_cancel"
ALL_KNOWN: frozenset[str] = frozenset({RING_TIMEOUT_WITHOUT_CANCEL})

AGENT_MOVES: dict[AgentState, frozenset[AgentState]] = {
    AgentState.LOGGED_OUT: frozenset({AgentState.AVAILABLE}),
    AgentState.AVAILABLE: frozenset({AgentState.RINGING, AgentState.PAUSED, AgentState.LOGGED_OUT}),
    AgentState.RINGING: frozenset({AgentState.ON_CALL, AgentState.AVAILABLE, AgentState.PAUSED, AgentState.LOGGED_OUT}),
    AgentState.ON_CALL: frozenset({AgentState.WRAP_UP, AgentState.AVAILABLE, AgentState.PAUSED, AgentState.LOGGED_OUT}),
    AgentState.WRAP_UP: frozenset({AgentState.AVAILABLE, AgentState.PAUSED, AgentState.LOGGED_OUT}),
    AgentState.PAUSED: frozenset({AgentState.AVAILABLE, AgentState.PAUSED, AgentState.LOGGED_OUT}),
}


@dataclass
class ContactModel:
    name: str
    queue: str
    priority: int
    arrived: float
    order: int  # arrival order, across queues
    status: str = "arriving"  # arriving, waiting, ringing, connected, then one of FINAL
    was_connected: bool = False
    fates: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, int]:
        """Rule 2: higher priority first, then the oldest."""
        return (-self.priority, self.order)


FINAL = frozenset({"ended", "overflowed", "abandoned"})


@dataclass
class Ring:
    contact: str
    since: float
    timeout: float
    lost: bool  # the shell's report of this ring's outcome gets lost: only the core's own ring timer ends it


@dataclass(frozen=True)
class OfferRecord:
    at: float
    contact: str
    queue: str
    agents: tuple[str, ...]
    idle_since: dict[str, float]  # the agents available just before this offer (and the ones offered)


Policy = Callable[["Harness", Event, list[Command]], None]


class Harness:
    """The shell's view of the ACD, built from the commands only, checked after every ``handle()``."""

    def __init__(
        self,
        queues: Iterable[QueueRules],
        agents: Iterable[AgentProfile],
        *,
        seed: int = 0,
        lost_reports: float = 0.0,
        tolerate: frozenset[str] = frozenset(),
        policy: Policy | None = None,
    ) -> None:
        queues, agents = list(queues), list(agents)
        self.acd = Acd(queues, agents, seed=seed)
        self.rules = {rules.name: rules for rules in queues}
        self.profiles = {profile.agent: profile for profile in agents}
        self.members = {p.agent: tuple(q for q in p.queues if q in self.rules) for p in agents}
        self.queue_members = {q: [a for a, mine in self.members.items() if q in mine] for q in self.rules}
        self.rank = {p.agent: (p.order or n) for n, p in enumerate(agents, start=1)}
        self.random = random.Random(seed)
        self.lost_reports = lost_reports
        self.tolerate = tolerate
        self.policy = policy
        self.now = 0.0
        self.live: dict[str, ContactModel] = {}
        self.done: dict[str, ContactModel] = {}
        self.rings: dict[str, Ring] = {}  # agent -> the contact it rings for
        self.connected: dict[str, str] = {}  # agent -> contact
        self.state = dict.fromkeys(self.profiles, AgentState.LOGGED_OUT)
        self.reason = dict.fromkeys(self.profiles, "")
        self.idle_since = dict.fromkeys(self.profiles, 0.0)
        self.presence = dict.fromkeys(self.profiles, "out")  # what the agent asked for: out, in, paused
        self.pause_reason = dict.fromkeys(self.profiles, "")
        self.wrap_until: dict[str, float] = {}
        self.missed: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.offers: list[OfferRecord] = []
        self.rr_seq: dict[tuple[str, str], int] = {}  # (queue, agent) -> when last offered, for round robin
        self.noted: Counter[str] = Counter()  # tolerated known bugs met
        self.agenda: list[tuple[float, int, Callable[[], Event | None]]] = []
        self.events = 0
        self.trace: list[str] = []
        self._order = 0
        self._seq = 0
        # per handle()
        self._event: Event = TimerFired(0.0)
        self._before = 0.0
        self._changes: dict[str, list[tuple[AgentState, str]]] = {}
        self._offered_now: list[Offer] = []
        self._missed_now: set[str] = set()
        self._expected_overflow: str | None = None
        self._left_ringing: dict[str, Ring] = {}

    # --- driving ----------------------------------------------------------------------------------------------

    def fail(self, message: str) -> None:
        raise AssertionError(f"{message}\n  at t={self.now:.3f}, last events:\n    " + "\n    ".join(self.trace[-30:]))

    def schedule(self, at: float, make: Callable[[], Event | None]) -> None:
        self._seq += 1
        heapq.heappush(self.agenda, (at, self._seq, make))

    def advance(self, seconds: float) -> None:
        self.advance_to(self.now + seconds)

    def advance_to(self, until: float) -> None:
        """Move the clock, firing in time order what falls due: scheduled events, the shell's ring timeouts
        (a phone rings ``Offer.timeout`` s, then the shell reports no answer, unless that report is lost) and
        the core's deadlines (``TimerFired`` at the deadline itself)."""
        while True:
            best: tuple[float, int, Event | None, int] | None = None
            if self.agenda and self.agenda[0][0] <= until:
                best = (self.agenda[0][0], 0, None, 0)
            for agent, ring in self.rings.items():
                due = ring.since + ring.timeout
                if not ring.lost and due <= until and (best is None or due < best[0]):
                    best = (due, 1, OfferFailed(due, ring.contact, agent, "no_answer"), 0)
            deadline = self.acd.next_deadline()
            if deadline is not None and deadline <= until and (best is None or deadline < best[0]):
                best = (deadline, 2, TimerFired(deadline), 0)
            if best is None:
                break
            event = best[2]
            if event is None:
                at, _, make = heapq.heappop(self.agenda)
                self.now = max(self.now, at)
                event = make()
                if event is None:
                    continue
            self.feed(event)
        self.now = max(self.now, until)

    def feed(self, event: Event) -> list[Command]:
        if event.at < self.now - EPS:
            self.fail(f"event in the past: {event!r}")
        self.events += 1
        self.trace.append(repr(event))
        self._event, self._before, self.now = event, self.now, event.at
        self._changes, self._offered_now, self._missed_now = {}, [], set()
        self._expected_overflow = None
        self._left_ringing = {}
        self._pre(event)
        commands = self.acd.handle(event)
        self.trace.extend(f"  -> {command!r}" for command in commands)
        del self.trace[:-60]
        for command in commands:
            self._apply(command)
        for agent, ring in self._left_ringing.items():
            if self.rings.get(agent) is ring:
                self._timed_out_by_core(agent, f"now {self.state[agent]}")
        self._post(event, commands)
        self._check()
        if self.policy is not None:
            self.policy(self, event, commands)
        return commands

    # --- the model ----------------------------------------------------------------------------------------------

    def ringers(self, contact: str) -> list[str]:
        return [agent for agent, ring in self.rings.items() if ring.contact == contact]

    def waiting_in(self, queue: str) -> list[ContactModel]:
        return [c for c in self.live.values() if c.queue == queue and c.status == "waiting"]

    def _finish(self, contact: ContactModel, fate: str, status: str) -> None:
        contact.fates.append(fate)
        contact.status = status
        self.live.pop(contact.name, None)
        self.done[contact.name] = contact

    def _ring_over(self, agent: str) -> None:
        """The agent no longer rings; a contact nobody rings for any more waits again."""
        ring = self.rings.pop(agent)
        contact = self.live.get(ring.contact)
        if contact is not None and contact.status == "ringing" and not self.ringers(ring.contact):
            contact.status = "waiting"

    def _no_answer(self, agent: str) -> None:
        self.missed[agent] += 1
        self._missed_now.add(agent)

    def _timed_out_by_core(self, agent: str, why: str) -> None:
        """A ring the core ended on its own ring timer, without a CancelOffer (see RING_TIMEOUT_WITHOUT_CANCEL)."""
        ring = self.rings[agent]
        if not isinstance(self._event, TimerFired) or self._event.at < ring.since + ring.timeout + RING_GRACE - EPS:
            self.fail(f"{agent} stopped ringing for {ring.contact} without CancelOffer ({why})")
        if RING_TIMEOUT_WITHOUT_CANCEL not in self.tolerate:
            self.fail(f"the core timed out {agent}'s ring for {ring.contact} but sent no CancelOffer ({why})")
        self.noted[RING_TIMEOUT_WITHOUT_CANCEL] += 1
        self._no_answer(agent)
        self._ring_over(agent)

    def _pre(self, event: Event) -> None:
        """What the shell knows from the event it sends."""
        if isinstance(event, ContactArrived):
            if event.contact in self.live or event.contact in self.done:
                self.fail(f"harness reused contact {event.contact}")
            self._order += 1
            self.live[event.contact] = ContactModel(event.contact, event.queue, event.priority, event.at, self._order)
            rules = self.rules[event.queue]
            if all(self.state[a] is AgentState.LOGGED_OUT for a in self.queue_members[event.queue]):
                self._expected_overflow = "no_agents"
            elif rules.max_length is not None and len(self.waiting_in(event.queue)) >= rules.max_length:
                self._expected_overflow = "max_length"
        elif isinstance(event, ContactAbandoned):
            contact = self.live[event.contact]
            assert contact.status in ("waiting", "ringing"), contact
            self._finish(contact, "abandoned", "abandoned")
        elif isinstance(event, AgentLoggedIn):
            self.presence[event.agent] = "in"
            self.missed[event.agent] = 0
        elif isinstance(event, AgentLoggedOut):
            self.presence[event.agent] = "out"
            self.wrap_until.pop(event.agent, None)
        elif isinstance(event, AgentPaused):
            self.presence[event.agent] = "paused"
            self.pause_reason[event.agent] = event.reason
        elif isinstance(event, AgentUnpaused):
            self.presence[event.agent] = "in"
            self.missed[event.agent] = 0
        elif isinstance(event, OfferAnswered):
            ring = self.rings.get(event.agent)
            assert ring is not None and ring.contact == event.contact, (event, ring)
        elif isinstance(event, OfferFailed):
            ring = self.rings.get(event.agent)
            assert ring is not None and ring.contact == event.contact, (event, ring)
            self._ring_over(event.agent)
            if event.reason == "no_answer":
                self._no_answer(event.agent)
        elif isinstance(event, ContactEnded):
            assert self.connected.get(event.agent) == event.contact, event
            del self.connected[event.agent]
            self._finish(self.live[event.contact], "ended", "ended")
            wrap_up = self.rules[self.done[event.contact].queue].wrap_up
            if wrap_up > 0 and self.presence[event.agent] != "out":
                self.wrap_until[event.agent] = event.at + wrap_up
            else:
                self.wrap_until.pop(event.agent, None)

    def _apply(self, command: Command) -> None:
        event = self._event
        if isinstance(command, Offer):
            self._apply_offer(command)
        elif isinstance(command, CancelOffer):
            ring = self.rings.get(command.agent)
            if ring is None or ring.contact != command.contact:
                self.fail(f"{command!r} for a ring the shell does not know ({ring})")
            if isinstance(event, OfferAnswered) and event.agent == command.agent:
                self.fail(f"{event.agent} answered {event.contact}, which rang for them, and was refused")
            self._ring_over(command.agent)
        elif isinstance(command, Overflow):
            contact = self.live.get(command.contact)
            if contact is None or contact.status not in ("arriving", "waiting") or self.ringers(command.contact):
                self.fail(f"{command!r} of a contact that is not waiting ({contact})")
                return
            if command.queue != contact.queue:
                self.fail(f"{command!r}: the contact is in {contact.queue}")
            if command.reason in ("no_agents", "max_length"):
                if not (isinstance(event, ContactArrived) and event.contact == command.contact):
                    self.fail(f"{command!r} not on arrival")
                if command.reason != self._expected_overflow:
                    self.fail(f"{command!r}, expected {self._expected_overflow}")
            elif command.reason == "max_wait":
                due = contact.arrived + self.rules[contact.queue].max_wait
                if not isinstance(event, TimerFired) or abs(event.at - due) > 1e-6:
                    self.fail(f"{command!r} at {event.at}, due at {due}")
            else:
                self.fail(f"{command!r}: unknown reason")
            self._finish(contact, f"overflow:{command.reason}", "overflowed")
        else:
            self._apply_state(command)

    def _apply_offer(self, offer: Offer) -> None:
        contact = self.live.get(offer.contact)
        if contact is None:
            self.fail(f"{offer!r} of a contact that is gone")
            return
        for agent in self.ringers(offer.contact):
            self._timed_out_by_core(agent, f"offered anew: {offer!r}")
        if contact.status not in ("arriving", "waiting"):
            self.fail(f"{offer!r} of a contact that is {contact.status}")
        rules = self.rules[contact.queue]
        if offer.queue != contact.queue or offer.timeout != rules.ring_timeout:
            self.fail(f"{offer!r} does not match the contact's queue {rules}")
        if not offer.agents or len(set(offer.agents)) != len(offer.agents):
            self.fail(f"{offer!r}: bad agent list")
        if len(offer.agents) > 1 and rules.strategy != "ring_all":
            self.fail(f"rule 1: {offer!r} rings several agents in a {rules.strategy} queue")
        snapshot = {a: self.idle_since[a] for a, s in self.state.items() if s is AgentState.AVAILABLE}
        for agent in offer.agents:
            if self.state[agent] is not AgentState.RINGING or (agent in self.rings):
                self.fail(f"rule 1: {offer!r} to {agent}, who is {self.state[agent]} / rings {self.rings.get(agent)}")
            if agent in self.connected:
                self.fail(f"{offer!r} to {agent}, connected to {self.connected[agent]}")
            if contact.queue not in self.members[agent]:
                self.fail(f"{offer!r} to {agent}, not a member of {contact.queue}")
            if self.presence[agent] != "in":
                self.fail(f"invariant 4: {offer!r} to {agent}, who asked to be {self.presence[agent]}")
            if self.now < self.wrap_until.get(agent, 0.0) - EPS:
                self.fail(f"invariant 4: {offer!r} to {agent} in wrap-up until {self.wrap_until[agent]}")
            snapshot[agent] = self.idle_since[agent]
            lost = self.random.random() < self.lost_reports
            self.rings[agent] = Ring(offer.contact, self.now, offer.timeout, lost)
            self._seq += 1
            self.rr_seq[(contact.queue, agent)] = self._seq
        contact.status = "ringing"
        self._offered_now.append(offer)
        self.offers.append(OfferRecord(self.now, offer.contact, offer.queue, offer.agents, snapshot))

    def _apply_state(self, change: AgentStateChanged) -> None:
        event, agent, state = self._event, change.agent, change.state
        if isinstance(event, TimerFired):
            if not self._before - EPS <= change.at <= event.at + EPS:
                self.fail(f"{change!r} outside ({self._before}, {event.at}]")
        elif change.at != event.at:
            self.fail(f"{change!r} not at the event's time {event.at}")
        old = self.state[agent]
        if state not in AGENT_MOVES[old] or (state is old and change.reason == self.reason[agent]):
            self.fail(f"{agent}: {old} -> {state} is no move")
        self._changes.setdefault(agent, []).append((state, change.reason))
        if agent in self.rings and state is not AgentState.RINGING:
            ring = self.rings[agent]
            if state is AgentState.ON_CALL:
                if not (isinstance(event, OfferAnswered) and event.agent == agent and event.contact == ring.contact):
                    self.fail(f"{change!r} without {agent} answering")
                del self.rings[agent]
                self.connected[agent] = ring.contact
                contact = self.live[ring.contact]
                contact.status = "connected"
                contact.was_connected = True
                self.answered[agent] += 1
                self.missed[agent] = 0
            else:
                # The core publishes the state before the CancelOffer: judge once all commands are applied.
                self._left_ringing[agent] = ring
        if state is AgentState.RINGING and old is not AgentState.AVAILABLE:
            self.fail(f"invariant 4: {agent} offered while {old}")
        if old is AgentState.ON_CALL and not (isinstance(event, ContactEnded) and event.agent == agent):
            self.fail(f"{change!r}: {agent} left ON_CALL without the call ending")
        if old is AgentState.WRAP_UP and state is AgentState.AVAILABLE:
            if not isinstance(event, TimerFired) or abs(change.at - self.wrap_until.get(agent, -1.0)) > 1e-6:
                self.fail(f"{change!r}: wrap-up was to end at {self.wrap_until.get(agent)}")
        if state is AgentState.PAUSED:
            if change.reason in ("no_answer", "unreachable"):
                self.presence[agent] = "paused"
                self.pause_reason[agent] = change.reason
            elif self.presence[agent] != "paused" or change.reason != self.pause_reason[agent]:
                self.fail(f"{change!r}: the agent asked for {self.presence[agent]} {self.pause_reason[agent]!r}")
        if state is AgentState.LOGGED_OUT and self.presence[agent] != "out":
            self.fail(f"{change!r}: the agent asked to be {self.presence[agent]}")
        if state is AgentState.AVAILABLE:
            if self.presence[agent] != "in":
                self.fail(f"{change!r}: the agent asked to be {self.presence[agent]}")
            self.idle_since[agent] = change.at
        self.state[agent], self.reason[agent] = state, change.reason

    def _first_change(self, agent: str) -> tuple[AgentState, str] | None:
        changes = self._changes.get(agent)
        return changes[0] if changes else None

    def _post(self, event: Event, commands: list[Command]) -> None:
        """What must follow from the event itself."""
        if isinstance(event, ContactArrived):
            contact = self.live.get(event.contact) or self.done[event.contact]
            if contact.status == "arriving":
                contact.status = "waiting"
            if self._expected_overflow is not None and contact.fates != [f"overflow:{self._expected_overflow}"]:
                self.fail(f"{event!r} should overflow with {self._expected_overflow}")
        elif isinstance(event, OfferAnswered):
            if self.connected.get(event.agent) != event.contact:
                self.fail(f"{event!r} did not connect")
            if self.ringers(event.contact):
                self.fail(f"{event!r}: {self.ringers(event.contact)} still ring for it")
        elif isinstance(event, OfferFailed):
            first = self._first_change(event.agent)
            if event.reason == "unreachable":
                if first != (AgentState.PAUSED, "unreachable"):
                    self.fail(f"{event!r}: the agent should be paused (unreachable), got {first}")
            contact = self.live.get(event.contact)
            if contact is None or contact.status not in ("waiting", "ringing"):
                self.fail(f"invariant 5: after {event!r} the contact is not back in its queue: {contact}")
            elif contact.status == "waiting":
                ahead = sum(1 for c in self.waiting_in(contact.queue) if c.key < contact.key)
                if self.acd.position(contact.name) != ahead + 1:
                    self.fail(
                        f"invariant 5: {event.contact} back at {self.acd.position(contact.name)}, not {ahead + 1}"
                    )
        elif isinstance(event, ContactEnded):
            presence = self.presence[event.agent]
            wrap_up = self.rules[self.done[event.contact].queue].wrap_up
            if presence == "out":
                expected = (AgentState.LOGGED_OUT, "")
            elif presence == "paused":
                expected = (AgentState.PAUSED, self.pause_reason[event.agent])
            elif wrap_up > 0:
                expected = (AgentState.WRAP_UP, "")
            else:
                expected = (AgentState.AVAILABLE, "")
            if self._first_change(event.agent) != expected:
                self.fail(f"invariant 4: after {event!r} expected {expected}, got {self._changes.get(event.agent)}")
        elif isinstance(event, (AgentLoggedIn, AgentLoggedOut, AgentPaused, AgentUnpaused)):
            agent = event.agent
            was = self.state[agent] if agent not in self._changes else None
            first = self._first_change(agent)
            if isinstance(event, AgentLoggedIn):
                expected: tuple[AgentState, str] | None = (AgentState.AVAILABLE, "")
            elif isinstance(event, AgentLoggedOut):
                expected = (AgentState.LOGGED_OUT, "")
            elif isinstance(event, AgentPaused):
                expected = (AgentState.PAUSED, event.reason)
            else:
                expected = (AgentState.AVAILABLE, "")
            if was is AgentState.ON_CALL:
                expected = None  # asked for after the call
            if first != expected:
                self.fail(f"after {event!r} expected {expected}, got {self._changes.get(agent)}")
            if agent in self.rings and isinstance(event, (AgentLoggedOut, AgentPaused)):
                self.fail(f"{agent} left but still rings")
        # Invariant 5: N misses in a row pause the agent with reason no_answer, fewer do not.
        for agent in self._missed_now:
            paused = (AgentState.PAUSED, "no_answer") in self._changes.get(agent, [])
            limit = self.profiles[agent].no_answer_limit
            if paused != (self.missed[agent] >= limit):
                self.fail(f"invariant 5: {agent} missed {self.missed[agent]} of {limit}, paused={paused}")
            if paused:
                self.missed[agent] = 0

    # --- the invariants, after every handle() ---------------------------------------------------------------

    def _check(self) -> None:
        acd = self.acd
        for agent, state in self.state.items():
            if acd.agent_state(agent) is not state:
                self.fail(f"{agent} is {acd.agent_state(agent)} in the core, {state} as published")
            if (state is AgentState.RINGING) != (agent in self.rings):
                self.fail(f"invariant 1: {agent} is {state}, rings {self.rings.get(agent)}")
            if (state is AgentState.ON_CALL) != (agent in self.connected):
                self.fail(f"invariant 1: {agent} is {state}, connected to {self.connected.get(agent)}")
        ringing: Counter[str] = Counter(ring.contact for ring in self.rings.values())
        for contact, count in ringing.items():
            if count > 1 and self.rules[self.live[contact].queue].strategy != "ring_all":
                self.fail(f"invariant 1: {contact} rings {count} agents")
        for contact_model in self.live.values():
            if contact_model.status not in ("waiting", "ringing", "connected") or contact_model.fates:
                self.fail(f"invariant 7: {contact_model}")
        waiting = {c.name for c in self.live.values() if c.status == "waiting"}
        core_waiting = acd.waiting_contacts()
        if set(core_waiting) != waiting or len(core_waiting) != len(waiting):
            self.fail(f"invariant 6: the core has {sorted(core_waiting)} waiting, the shell {sorted(waiting)}")
        for queue in self.rules:
            if acd.waiting(queue) != len(self.waiting_in(queue)):
                self.fail(f"invariant 6: waiting({queue}) = {acd.waiting(queue)}, the shell counts {waiting}")
        # Invariant 2: no available agent idles while a contact it could take waits.
        for agent, state in self.state.items():
            if state is AgentState.AVAILABLE:
                for contact in core_waiting:
                    if acd.can_take(agent, contact):
                        self.fail(f"invariant 2: {agent} is available and {contact} waits")
        # Invariant 3: an offer passes over no better contact of its queue that the agent could take.
        for offer in self._offered_now:
            offered = self.live.get(offer.contact) or self.done[offer.contact]
            for agent in offer.agents:
                if offer.contact in self.live and not acd.can_take(agent, offer.contact):
                    self.fail(f"rule 4: {offer!r} to {agent}, who may not take it")
                for other in self.waiting_in(offer.queue):
                    if other.key < offered.key and acd.can_take(agent, other.name):
                        self.fail(f"invariant 3: {offer!r} to {agent} while {other} waits")
        deadline = acd.next_deadline()
        if deadline is not None and deadline <= self.now:
            self.fail(f"next_deadline() {deadline} is not in the future")

    def drain(self) -> None:
        """End the scenario: hang up every call and every waiting caller, let wrap-ups run out, and check
        that every contact ended in exactly one way (invariant 7)."""
        self.policy = None
        self.agenda.clear()
        for agent, contact in sorted(self.connected.items()):
            self.advance(0.01)
            self.feed(ContactEnded(self.now, contact, agent))
        for name in sorted(self.live):
            if name in self.live and self.live[name].status in ("waiting", "ringing"):
                self.advance(0.01)
                self.feed(ContactAbandoned(self.now, name))
        self.advance(max((r.wrap_up for r in self.rules.values()), default=0.0) + 1.0)
        assert not self.live and not self.rings and not self.connected
        assert not self.acd.waiting_contacts()
        assert all(self.acd.waiting(queue) == 0 for queue in self.rules)
        for contact in self.done.values():
            assert len(contact.fates) == 1, contact
            assert (contact.fates[0] == "ended") == contact.was_connected, contact
        for agent in self.profiles:
            assert self.acd.agent_state(agent) in (AgentState.LOGGED_OUT, AgentState.AVAILABLE, AgentState.PAUSED)


# --- generated scenarios ------------------------------------------------------------------------------------

SKILLS = ("ru", "en", "billing", "tech")


def random_setup(rng: random.Random) -> tuple[list[QueueRules], list[AgentProfile]]:
    queues = []
    for number in range(rng.randint(1, 4)):
        needed = rng.sample(SKILLS, rng.choice((0, 0, 1, 2)))
        queues.append(
            QueueRules(
                f"q{number}",
                strategy=rng.choice(STRATEGIES),
                skills={skill: rng.randint(1, 3) for skill in needed},
                wrap_up=rng.choice((0.0, 0.0, 3.0, 10.0, 30.0)),
                max_wait=rng.choice((30.0, 120.0, 600.0)),
                max_length=rng.choice((None, None, 1, 3, 6)),
                ring_timeout=rng.choice((5.0, 15.0, 25.0)),
                relax_after=rng.choice((None, round(rng.uniform(5.0, 60.0), 3))),
            )
        )
    names = [queue.name for queue in queues]
    agents = []
    for number in range(rng.randint(1, 12)):
        member = rng.sample(names, rng.randint(1, len(names)))
        if rng.random() < 0.05:
            member.append("closed")  # a queue that does not exist is ignored
        agents.append(
            AgentProfile(
                f"a{number}",
                tuple(member),
                {skill: rng.randint(0, 3) for skill in SKILLS if rng.random() < 0.6},
                order=rng.choice((0, rng.randint(1, 20))),
                no_answer_limit=rng.randint(1, 3),
            )
        )
    return queues, agents


def random_step(h: Harness, rng: random.Random, counter: list[int]) -> None:
    """One event chosen among those possible now; every event but "advance" comes a moment after the last,
    so no two events share an instant (ties have their own tests)."""
    agents = sorted(h.profiles)
    ringing = sorted(h.rings.items())
    moves: list[tuple[str, float]] = [("advance", 2.0)]
    if len(h.live) < 25:
        moves.append(("arrive", 3.0))
    if any(h.presence[a] == "out" for a in agents):
        moves.append(("login", 1.5))
    if any(h.presence[a] != "out" for a in agents):
        moves.append(("logout", 0.3))
    if any(h.presence[a] == "in" for a in agents):
        moves.append(("pause", 0.4))
    if any(h.presence[a] == "paused" for a in agents):
        moves.append(("unpause", 1.0))
    if ringing:
        moves += [("answer", 3.0), ("fail", 1.5)]
    if h.connected:
        moves.append(("end", 2.0))
    if any(c.status in ("waiting", "ringing") for c in h.live.values()):
        moves.append(("abandon", 0.7))
    move = rng.choices([m for m, _ in moves], [w for _, w in moves])[0]
    if move == "advance":
        h.advance(rng.uniform(0.0, 30.0))
        return
    h.advance(rng.uniform(0.001, 0.3))
    at = h.now
    ringing = sorted(h.rings.items())  # the clock moved: rings may have timed out
    if move == "arrive":
        counter[0] += 1
        queue = rng.choice(sorted(h.rules))
        h.feed(ContactArrived(at, f"c{counter[0]}", queue, rng.choice((0, 0, 0, 10))))
    elif move == "login":
        h.feed(AgentLoggedIn(at, rng.choice([a for a in agents if h.presence[a] == "out"])))
    elif move == "logout":
        h.feed(AgentLoggedOut(at, rng.choice([a for a in agents if h.presence[a] != "out"])))
    elif move == "pause":
        h.feed(
            AgentPaused(at, rng.choice([a for a in agents if h.presence[a] == "in"]), rng.choice(("lunch", "coach")))
        )
    elif move == "unpause":
        h.feed(AgentUnpaused(at, rng.choice([a for a in agents if h.presence[a] == "paused"])))
    elif move in ("answer", "fail") and ringing:
        agent, ring = rng.choice(ringing)
        if move == "answer":
            h.feed(OfferAnswered(at, ring.contact, agent))
        else:
            reason = rng.choices(("no_answer", "busy", "unreachable"), (6, 3, 1))[0]
            h.feed(OfferFailed(at, ring.contact, agent, reason))
    elif move == "end" and h.connected:
        agent, contact = rng.choice(sorted(h.connected.items()))
        h.feed(ContactEnded(at, contact, agent))
    elif move == "abandon":
        live = [c.name for c in h.live.values() if c.status in ("waiting", "ringing")]
        if live:
            h.feed(ContactAbandoned(at, rng.choice(sorted(live))))


def run_scenario(seed: int, steps: int, tolerate: frozenset[str] = ALL_KNOWN) -> Harness:
    rng = random.Random(seed)
    queues, agents = random_setup(rng)
    h = Harness(queues, agents, seed=seed, lost_reports=rng.choice((0.0, 0.0, 0.2, 1.0)), tolerate=tolerate)
    counter = [0]
    for _ in range(steps):
        random_step(h, rng, counter)
    h.drain()
    return h


SCENARIOS, STEPS, BATCHES = 300, 300, 10


@pytest.mark.parametrize("batch", range(BATCHES))
def test_generated_scenarios_keep_every_invariant(batch: int) -> None:
    per = SCENARIOS // BATCHES
    events = 0
    for seed in range(batch * per, (batch + 1) * per):
        events += run_scenario(seed, STEPS).events
    assert events > per * STEPS  # every step fed at least one event, on average
