"""The asyncio shell around the ACD core: one task feeds it events in order and carries out its commands.

Call flows (AGI sessions of waiting callers, agents' feature codes) and the AMI
event handler post events; they never touch the core. The single consumer task
hands each event to ``Acd.handle``, then delivers the commands: offers and
overflows go to the waiting caller's session inbox, agent states to whoever
watches them. When the core names a deadline, the consumer wakes for it and
sends ``TimerFired``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from callcenter.acd.core import Acd, AgentProfile, QueueRules
from callcenter.acd.events import (
    AgentState,
    AgentStateChanged,
    CancelOffer,
    Command,
    Event,
    Offer,
    OfferAnswered,
    Overflow,
    RulesChanged,
    TimerFired,
)

__all__ = ["AcdService", "Delivery"]

log = logging.getLogger(__name__)

Delivery = Offer | Overflow | CancelOffer


class AcdService:
    def __init__(
        self, queues: list[QueueRules], agents: list[AgentProfile], clock: Callable[[], float] | None = None
    ) -> None:
        self._core = Acd(queues, agents)
        self._clock = clock or asyncio.get_running_loop().time
        self._events: asyncio.Queue[Event | asyncio.Future[None]] = asyncio.Queue()
        self._inboxes: dict[str, asyncio.Queue[Delivery]] = {}
        self._channels: dict[str, str] = {}  # a waiting caller's channel uniqueid -> its contact
        self._answered: dict[str, str] = {}  # contact -> agent, for answers already posted (from AMI)
        self._answered_at: dict[str, datetime] = {}  # contact -> when (wall clock, for the record)
        self._answer_hooks: dict[str, Callable[[], None]] = {}  # contact -> what to do when it is answered
        self.agent_states: dict[str, tuple[AgentState, str]] = {}
        self.on_agent_state: Callable[[AgentStateChanged], None] | None = None

    def now(self) -> float:
        return self._clock()

    def post(self, event: Event) -> None:
        self._events.put_nowait(event)

    async def settled(self) -> None:
        """Return once every event posted so far has been handled (positions and states are current)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._events.put_nowait(done)
        await done

    def reconfigure(self, queues: list[QueueRules], agents: list[AgentProfile]) -> None:
        """New rules from a dialplan reload; a bad one is logged by the consumer and changes nothing."""
        self.post(RulesChanged(self.now(), tuple(queues), tuple(agents)))

    def queue_waits(self) -> dict[str, tuple[int, float]]:
        """Per queue: callers waiting now and the longest wait so far (seconds), for metrics and the wallboard."""
        longest = self._core.longest_waits(self.now())
        return {queue: (self._core.waiting(queue), longest.get(queue, 0.0)) for queue in self._core.queue_names()}

    def join(self, contact: str, uniqueid: str) -> asyncio.Queue[Delivery]:
        """The inbox of a caller about to wait: offers and overflows for it arrive here."""
        inbox: asyncio.Queue[Delivery] = asyncio.Queue()
        self._inboxes[contact] = inbox
        self._channels[uniqueid] = contact
        return inbox

    def on_answer(self, contact: str, then: Callable[[], None] | None) -> None:
        """Call ``then`` when the contact's offer is answered (AMI DialEnd), at once; None forgets it."""
        if then is None:
            self._answer_hooks.pop(contact, None)
        else:
            self._answer_hooks[contact] = then

    def leave(self, contact: str, uniqueid: str) -> None:
        self._answer_hooks.pop(contact, None)
        self._inboxes.pop(contact, None)
        self._channels.pop(uniqueid, None)
        self._answered.pop(contact, None)
        self._answered_at.pop(contact, None)

    def answered(self, uniqueid: str, agent: str) -> None:
        """Asterisk says the caller's Dial was answered by ``agent`` (AMI DialEnd): the moment the call connects."""
        contact = self._channels.get(uniqueid)
        if contact is not None and contact not in self._answered:
            self._answered[contact] = agent
            self._answered_at[contact] = datetime.now(UTC)
            self.post(OfferAnswered(self.now(), contact, agent))
            hook = self._answer_hooks.pop(contact, None)
            if hook is not None:
                hook()

    def position(self, contact: str) -> int:
        """1 for the next caller to be offered; 0 when not waiting (ringing an agent, or gone)."""
        return self._core.position(contact)

    def estimated_wait(self, queue: str, position: int) -> float:
        return self._core.estimated_wait(queue, position)

    def answered_at(self, contact: str) -> datetime | None:
        return self._answered_at.get(contact)

    def answered_by(self, contact: str) -> str | None:
        """The agent whose answer was posted for the contact, if any."""
        return self._answered.get(contact)

    def record_answer(self, contact: str, agent: str) -> None:
        """Post the answer now if AMI did not (the link was down): late, but the core must know."""
        if contact not in self._answered:
            self._answered[contact] = agent
            self.post(OfferAnswered(self.now(), contact, agent))

    async def run(self) -> None:
        while True:
            deadline = self._core.next_deadline()
            try:
                if deadline is None:
                    event = await self._events.get()
                else:
                    async with asyncio.timeout(max(0.0, deadline - self.now())):
                        event = await self._events.get()
            except TimeoutError:
                event = TimerFired(self.now())
            if isinstance(event, asyncio.Future):
                if not event.done():
                    event.set_result(None)
                continue
            try:
                commands = self._core.handle(event)
            except Exception:
                # A bad event (the shell's bug) must not stop routing for everyone else.
                log.exception("ACD could not handle %r", event)
                continue
            for command in commands:
                self._carry_out(command)

    def _carry_out(self, command: Command) -> None:
        if isinstance(command, AgentStateChanged):
            self.agent_states[command.agent] = (command.state, command.reason)
            log.info("agent %s is %s%s", command.agent, command.state, f" ({command.reason})" if command.reason else "")
            if self.on_agent_state is not None:
                self.on_agent_state(command)
            return
        inbox = self._inboxes.get(command.contact)
        if inbox is not None:
            inbox.put_nowait(command)
        elif isinstance(command, Offer):
            log.warning("offer of %s to %s for a caller no longer waiting", command.contact, command.agents)
