"""A caller waiting in a queue, over its FastAGI session: music, offers to agents, overflow.

The session stays with the caller the whole time. Music on hold runs in the
background while the session polls its inbox between short waits for a key;
an offer becomes a Dial of the agent's phone (the caller keeps hearing the
music while it rings; the phone shows the caller's number with the queue's
name, and an X-CC-Queue header). Dial returns when the conversation is over,
so the moment of the answer comes from AMI (DialEnd) through the ACD service;
when AMI is down, the answer is posted late, when Dial returns. The queue's
callback key hands the caller's place to a callback and ends the call.

Each step (queued with the position, every offer with its ring time and
result, connected, ended, abandoned, overflowed, callback) is journalled as a
CallStep under the call's linkedid.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from callcenter.acd.events import (
    CancelOffer,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    Offer,
    OfferFailed,
    Overflow,
)
from callcenter.asterisk.agi import AgiChannel, AgiHangupError
from callcenter.calls.acd_service import AcdService, Delivery
from callcenter.dialplan.model import Dialplan, Hangup, PlayMessage, ToNumber, ToQueue, ToVoicemail
from callcenter.ivr.prompts import PromptResolver
from callcenter.records import CallStep, Outcome, StepKind

__all__ = ["CallbackRequests", "QueueVisit", "QueueWaiting", "RecordingPlanner"]

log = logging.getLogger(__name__)

_POLL = 0.5  # seconds between looks at the inbox while the music plays
_DIAL_MAX = 4 * 3600.0  # a Dial lasts as long as the conversation
_MAX_HOPS = 5  # overflow from queue to queue at most this often
_TRANSFER_LATE_MAX = 30.0  # seconds a transfer reported after the agent's part ended is still placed there
_DIAL_FAILURES = {"NOANSWER": "no_answer", "BUSY": "busy", "CHANUNAVAIL": "unreachable", "CONGESTION": "unreachable"}


@dataclass
class QueueVisit:
    """What happened to the caller in the queues, filled in as it happens (a hang-up keeps what is known)."""

    queue: str
    queued_at: datetime
    outcome: Outcome = Outcome.QUEUED
    reason: str = ""
    agent: str = ""
    connected_at: datetime | None = None
    next_step: tuple[str, str, str] | None = None  # where extensions.conf takes the call after an overflow
    destination: str = ""
    caller: str = ""  # the caller's number (E.164) when known: needed for a callback
    line: str = ""  # the number the caller dialled (E.164): a callback comes from it
    ringing: tuple[Offer, datetime] | None = None  # the offer ringing now, and since when
    queue_name: str = ""  # the queue's display name, shown on the agent's phone
    since: float | None = None  # on the ACD's clock, when the caller came back after a restart of the service
    linkedid: str = ""  # the call the steps hang off, when the ACD knows the caller by another id (a transfer)


class CallbackRequests(Protocol):
    """Where a waiting caller's callback request goes (callcenter.calls.callbacks.CallbackDesk)."""

    def request(self, contact: str, visit: QueueVisit, priority: int, since: float) -> None: ...


class RecordingPlanner(Protocol):
    """Who decides whether an offer's conversation is recorded (callcenter.calls.recordings.RecordingDesk)."""

    def plan_offer(self, caller_uniqueid: str, linkedid: str, queue: str, line: str | None) -> str: ...


class _Announcer:
    """When to tell a waiting caller their position: every N seconds, and only when it moved up."""

    def __init__(self, every: int | None, hold_time: bool, callback_key: str | None = None) -> None:
        self.every = every
        self.hold_time = hold_time
        self.callback_key = callback_key
        self._next: float | None = None
        self._last_position: int | None = None

    def due(self, now: float) -> bool:
        if self.every is None:
            return False
        if self._next is None:
            self._next = now + min(self.every, 10)  # the first one early, once the caller has settled
        return now >= self._next

    def scheduled(self, now: float) -> None:
        self._next = now + (self.every or 0)

    def worth_saying(self, position: int) -> bool:
        news = self._last_position is None or position < self._last_position
        self._last_position = position
        return news


class QueueWaiting:
    def __init__(
        self,
        acd: AcdService,
        prompts: PromptResolver,
        clock: Callable[[], datetime],
        journal: Callable[[CallStep], None] = lambda step: None,
        node: str = "",
        callbacks: CallbackRequests | None = None,
        recordings: RecordingPlanner | None = None,
    ) -> None:
        self._acd = acd
        self._recordings = recordings
        self._prompts = prompts
        self._clock = clock
        self._journal = journal
        self._node = node
        self._callbacks = callbacks
        self._live: dict[str, list[tuple[str, QueueVisit]]] = {}  # linkedid -> (contact, visit) waiting or talking
        self._late: dict[str, tuple[str, str, str]] = {}  # linkedid -> a transfer no session matched
        self._finished: dict[str, tuple[str, str, datetime]] = {}  # linkedid -> queue, agent, end of a talk

    def transferred(self, linkedid: str, agent: str, kind: str, target: str) -> bool:
        """Hook for calls/transfers.py: ``agent`` transferred the call (``kind`` blind or attended) to ``target``.

        True when a session of the call has the agent on the line: the agent's part ends now (they wrap
        up), the steps say so and the record says transferred. The Dial that connected them then ends
        (blind) or goes on with the target (attended); either way nothing is counted twice.
        """
        for contact, visit in self._live.get(linkedid, []):
            if visit.outcome is Outcome.TRANSFERRED or self._acd.answered_by(contact) != agent:
                continue
            visit.outcome, visit.reason, visit.agent, visit.destination = Outcome.TRANSFERRED, kind, agent, target
            visit.connected_at = self._acd.answered_at(contact) or self._clock()
            self._acd.post(ContactEnded(self._acd.now(), contact, agent))
            self._offer_steps(contact, visit, agent)
            self._step(contact, StepKind.TRANSFERRED, visit, agent=agent, detail=f"{kind}:{target}")
            self._talk_ended(contact, visit)
            return True
        return False

    def transferred_elsewhere(self, linkedid: str, agent: str, kind: str, target: str) -> tuple[str, datetime] | None:
        """Hook for calls/transfers.py: a transfer of the call that no session matched (``transferred``
        said False; the transfer's step and record update are written by the caller).

        A session of the call still going on writes its record at its end, after any update sent now: it
        takes the transfer then. When the agent's part of the call ended moments ago (the transfer took
        the caller out of the Dial before AMI told of it), the queue and the moment for the transfer's
        step: just before that end, where it belongs.
        """
        sessions = self._live.get(linkedid, [])
        if sessions:
            on_line = [self._acd.answered_by(contact) for contact, _ in sessions]
            log.info("call %s: transfer by %s noted for its session (on the line: %s)", linkedid, agent, on_line)
            self._late[linkedid] = (agent, kind, target)
        finished = self._finished.pop(linkedid, None)
        if finished is None or finished[1] != agent:
            return None
        queue, _, ended = finished
        return queue, ended - timedelta(milliseconds=1)

    async def hand_on(self, channel: AgiChannel, visit: QueueVisit) -> None:
        """After ``wait``: give the call to extensions.conf where the overflow sends it, or hang up."""
        if visit.next_step is not None:
            await channel.set_variable("CC_NEXT", ",".join(visit.next_step))
        await channel.set_variable("CC_DONE", "1")
        if visit.next_step is None:
            await channel.hangup()

    def _step(self, contact: str, kind: StepKind, visit: QueueVisit, at: datetime | None = None, **values: Any) -> None:
        self._journal(CallStep(self._node, visit.linkedid or contact, at or self._clock(), kind, visit.queue, **values))

    def _waited(self, visit: QueueVisit) -> float:
        return (self._clock() - visit.queued_at).total_seconds()

    async def wait(
        self, channel: AgiChannel, dialplan: Dialplan, contact: str, priority: int, language: str, visit: QueueVisit
    ) -> None:
        for _ in range(_MAX_HOPS):
            queue = dialplan.queues.get(visit.queue)
            every = queue.announce_every if queue is not None else None
            hold_time = queue.announce_hold_time if queue is not None else False
            callback_key = queue.callback_key if queue is not None and self._callbacks and visit.caller else None
            announcer = _Announcer(every, hold_time, callback_key)
            visit.queue_name = queue.name if queue is not None else visit.queue
            left = await self._wait_in(channel, contact, priority, language, visit, announcer)
            if not isinstance(left, Overflow):
                return
            action = dialplan.queues[visit.queue].overflow if visit.queue in dialplan.queues else None
            visit.reason = f"overflow_{left.reason}"
            log.info("caller %s overflows from %s (%s)", contact, visit.queue, left.reason)
            where = _describe(action)
            self._step(
                contact, StepKind.OVERFLOWED, visit, seconds=self._waited(visit), result=left.reason, detail=where
            )
            if isinstance(action, ToQueue):
                visit.queue = action.queue
                visit.queued_at = self._clock()
                continue
            if isinstance(action, ToVoicemail | ToNumber):
                await self._play(channel, action.prompts, language)
                target = action.mailbox if isinstance(action, ToVoicemail) else action.number
                context = "cc-voicemail" if isinstance(action, ToVoicemail) else "cc-transfer"
                visit.next_step = (context, target, "1")
                visit.destination = where
                visit.outcome = Outcome.VOICEMAIL if isinstance(action, ToVoicemail) else Outcome.TRANSFERRED
                return
            prompts = action.prompts if isinstance(action, PlayMessage | Hangup) else ("all-circuits-busy-now",)
            await self._play(channel, prompts, language)
            visit.outcome = Outcome.OVERFLOWED
            return
        visit.outcome = Outcome.OVERFLOWED
        visit.reason = "overflow_loop"

    async def _wait_in(
        self, channel: AgiChannel, contact: str, priority: int, language: str, visit: QueueVisit, announcer: _Announcer
    ) -> Overflow | Literal["connected", "callback"]:
        """Wait in ``visit.queue`` until connected, overflowed (the Overflow) or left for a callback."""
        uniqueid = channel.header("uniqueid")
        inbox = self._acd.join(contact, uniqueid)
        entered = self._acd.now()
        since, visit.since = visit.since, None
        live = self._live.setdefault(visit.linkedid or contact, [])
        live.append((contact, visit))
        try:
            # Should the service stop, extensions.conf brings the caller back to the queue with this.
            waiting = f"{visit.queue}|{visit.queued_at.timestamp():.3f}|{priority}"
            await channel.set_variable("CC_WAITING", waiting)
            self._acd.post(ContactArrived(entered, contact, visit.queue, priority, since=since))
            log.info("caller %s waits in %s (priority %d)", contact, visit.queue, priority)
            await self._acd.settled()  # placed in line: the position is known
            self._step(
                contact, StepKind.QUEUED, visit, at=visit.queued_at, position=max(1, self._acd.position(contact))
            )
            await channel.exec("StartMusicOnHold", "default")
            while True:
                try:
                    delivery = inbox.get_nowait()
                except asyncio.QueueEmpty:
                    if announcer.due(self._acd.now()):
                        key = await self._announce(channel, contact, visit.queue, language, announcer, inbox)
                    else:
                        key = await channel.wait_for_key(_POLL)
                    if key is not None and key == announcer.callback_key and self._callbacks is not None:
                        await self._leave_for_callback(channel, contact, priority, entered, language, visit)
                        return "callback"
                    continue
                if isinstance(delivery, CancelOffer):
                    continue
                if isinstance(delivery, Overflow):
                    await channel.exec("StopMusicOnHold")
                    return delivery
                if await self._offer(channel, contact, delivery, visit):
                    return "connected"
                await channel.exec("StartMusicOnHold", "default")
        except AgiHangupError:
            agent = self._acd.answered_by(contact)
            if visit.outcome is Outcome.TRANSFERRED:  # the agent's part was counted at the transfer
                raise
            if agent is not None:  # the conversation ended with a hang-up (Dial ends the caller's leg too)
                self._acd.post(ContactEnded(self._acd.now(), contact, agent))
                visit.outcome, visit.agent = Outcome.ANSWERED, agent
                visit.connected_at = self._acd.answered_at(contact)
                self._offer_steps(contact, visit, agent)
                self._talk_ended(contact, visit)
            else:
                self._acd.post(ContactAbandoned(self._acd.now(), contact))
                visit.outcome, visit.reason = Outcome.ABANDONED, "in_queue"
                self._offer_steps(contact, visit, None, "caller_hung_up")
                self._step(contact, StepKind.ABANDONED, visit, seconds=self._waited(visit), result="in_queue")
            raise
        except asyncio.CancelledError:
            # The service stops. The caller stays in Asterisk: a conversation goes on (resynced from AMI at
            # the next start); a waiting caller comes back through extensions.conf at the same place.
            agent = self._acd.answered_by(contact)
            if agent is not None:
                visit.outcome, visit.agent = Outcome.ANSWERED, agent
                visit.connected_at = self._acd.answered_at(contact)
                self._offer_steps(contact, visit, agent)
            visit.reason = "service_stopped"
            raise
        finally:
            self._acd.leave(contact, uniqueid)
            late = self._late.pop(visit.linkedid or contact, None)
            if late is not None and visit.outcome is not Outcome.TRANSFERRED:
                transferrer, kind, target = late
                visit.outcome, visit.reason, visit.destination = Outcome.TRANSFERRED, kind, target
                visit.agent = visit.agent or transferrer
            live[:] = [(other, seen) for other, seen in live if seen is not visit]
            if not live:
                self._live.pop(visit.linkedid or contact, None)

    async def _leave_for_callback(
        self, channel: AgiChannel, contact: str, priority: int, entered: float, language: str, visit: QueueVisit
    ) -> None:
        """The caller's place goes to a callback; the call ends with a confirmation."""
        assert self._callbacks is not None
        self._acd.post(ContactAbandoned(self._acd.now(), contact))
        self._callbacks.request(contact, visit, priority, entered)
        self._step(contact, StepKind.CALLBACK_REQUESTED, visit, seconds=self._waited(visit), detail=visit.caller)
        visit.outcome, visit.reason = Outcome.CALLBACK, "callback_requested"
        log.info("caller %s in %s asked for a callback to %s", contact, visit.queue, visit.caller)
        await channel.exec("StopMusicOnHold")
        await self._play(channel, ("cc/callback-confirm",), language)

    async def _offer(self, channel: AgiChannel, contact: str, offer: Offer, visit: QueueVisit) -> bool:
        """Ring the offered agents with the caller; True when one answered (and the conversation is over)."""
        await channel.exec("StopMusicOnHold")
        targets = "&".join(f"PJSIP/{agent}" for agent in offer.agents)
        log.info("offering %s from %s to %s", contact, offer.queue, ", ".join(offer.agents))
        visit.ringing = (offer, self._clock())
        # The agent's phone shows the queue's name with the caller's number (pre-dial handler in extensions.conf).
        await channel.set_variable("__CC_QUEUE", offer.queue)
        await channel.set_variable("__CC_QUEUE_NAME", visit.queue_name or offer.queue)
        recording = ""
        if self._recordings is not None:
            recording = self._recordings.plan_offer(
                channel.header("uniqueid"), visit.linkedid or contact, offer.queue, visit.line or None
            )
        # t: the agent may transfer the caller (features.conf; calls/transfers.py follows it); U: at the
        # answer, extensions.conf [cc-answered] starts the recording the policy asks for (calls/recordings.py).
        options = f"tmb(cc-offer^s^1)U(cc-answered^{recording})"
        # The offer's steps as soon as AMI says who answered, not when Dial returns at the conversation's
        # end: a service killed meanwhile would lose them (the same steps again later are no-ops).
        self._acd.on_answer(contact, lambda: self._answered_now(contact, visit))
        try:
            await channel.exec("Dial", f"{targets},{int(offer.timeout)},{options}", timeout=_DIAL_MAX)
        finally:
            self._acd.on_answer(contact, None)
        if visit.outcome is Outcome.TRANSFERRED:  # counted at the transfer (an attended one ends here)
            return True
        status = await channel.get_variable("DIALSTATUS")
        if status != "ANSWER":
            reason = _DIAL_FAILURES.get(status, "no_answer")
            for agent in offer.agents:
                self._acd.post(OfferFailed(self._acd.now(), contact, agent, reason))
            self._offer_steps(contact, visit, None, reason)
            return False
        agent = self._acd.answered_by(contact) or (await channel.get_variable("DIALEDPEERNUMBER")).split("/")[-1]
        self._acd.record_answer(contact, agent)
        visit.agent = agent
        visit.connected_at = self._acd.answered_at(contact) or self._clock()
        visit.outcome = Outcome.ANSWERED
        self._acd.post(ContactEnded(self._acd.now(), contact, agent))
        self._offer_steps(contact, visit, agent)
        self._talk_ended(contact, visit)
        return True

    def _answered_now(self, contact: str, visit: QueueVisit) -> None:
        agent = self._acd.answered_by(contact)
        if agent is None or visit.ringing is None:
            return
        visit.agent, visit.connected_at = agent, self._acd.answered_at(contact)
        self._offer_steps(contact, visit, agent)

    def _offer_steps(self, contact: str, visit: QueueVisit, answered_by: str | None, result: str = "") -> None:
        """One step per agent rung for the offer that just ended: ring time and result."""
        if visit.ringing is None:
            return
        offer, rang_from = visit.ringing
        visit.ringing = None
        answered_at = visit.connected_at if answered_by is not None else None
        for agent in offer.agents:
            if agent == answered_by and answered_at is not None:
                rang, outcome = (answered_at - rang_from).total_seconds(), "answered"
            else:
                rang, outcome = (self._clock() - rang_from).total_seconds(), "cancelled" if answered_by else result
            self._step(contact, StepKind.OFFERED, visit, at=rang_from, agent=agent, seconds=rang, result=outcome)
        if answered_by is not None and answered_at is not None:
            waited = (answered_at - visit.queued_at).total_seconds()
            self._step(contact, StepKind.CONNECTED, visit, at=answered_at, agent=answered_by, seconds=waited)

    def _talk_ended(self, contact: str, visit: QueueVisit) -> None:
        now = self._clock()
        talk = (now - visit.connected_at).total_seconds() if visit.connected_at else None
        self._step(contact, StepKind.ENDED, visit, at=now, agent=visit.agent, seconds=talk)
        # A transfer AMI reports a moment later is placed just before this end (transferred_elsewhere).
        self._finished[visit.linkedid or contact] = (visit.queue, visit.agent, now)
        while self._finished:
            oldest = next(iter(self._finished))
            if (now - self._finished[oldest][2]).total_seconds() < _TRANSFER_LATE_MAX:
                break
            del self._finished[oldest]

    async def _announce(
        self,
        channel: AgiChannel,
        contact: str,
        queue: str,
        language: str,
        announcer: _Announcer,
        inbox: asyncio.Queue[Delivery],
    ) -> str | None:
        """Position and estimated wait, only when there is news: never again "you are next" to the same caller.

        Cut short between its parts as soon as the inbox has news (an offer, an overflow), so an agent
        or max_wait never waits for the end of an announcement. Returns a key pressed during the
        callback offer.
        """
        position = self._acd.position(contact)
        announcer.scheduled(self._acd.now())
        if position == 0 or not announcer.worth_saying(position):
            return None
        parts: list[Callable[[], Awaitable[object]]] = []
        if position == 1:
            parts.append(lambda: channel.stream_file("queue-youarenext"))
        else:
            parts.append(lambda: channel.stream_file("queue-thereare"))
            parts.append(lambda: channel.say_number(position - 1))
            parts.append(lambda: channel.stream_file("queue-callswaiting"))
        minutes = round(self._acd.estimated_wait(queue, position) / 60)
        if announcer.hold_time and minutes >= 1:
            parts.append(lambda: channel.stream_file("queue-holdtime"))
            parts.append(lambda: channel.say_number(minutes))
            parts.append(lambda: channel.stream_file("queue-minutes" if minutes > 1 else "queue-minute"))
        key: str | None = None
        await channel.exec("StopMusicOnHold")
        for part in parts:
            if not inbox.empty():
                break
            await part()
        if announcer.callback_key is not None and inbox.empty():
            path = self._prompts.path(language, "cc/callback-offer")
            key = await channel.stream_file(path, announcer.callback_key)
        await channel.exec("StartMusicOnHold", "default")
        return key or None

    async def _play(self, channel: AgiChannel, prompts: tuple[str, ...], language: str) -> None:
        for prompt in prompts:
            await channel.stream_file(self._prompts.path(language, prompt))


def _describe(action: object) -> str:
    """Where an overflow sends the caller, as the records say it."""
    if isinstance(action, ToQueue):
        return f"queue:{action.queue}"
    if isinstance(action, ToVoicemail):
        return f"voicemail:{action.mailbox}"
    if isinstance(action, ToNumber):
        return f"number:{action.number}"
    return "message"
