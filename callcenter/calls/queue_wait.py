"""A caller waiting in a queue, over its FastAGI session: music, offers to agents, overflow.

The session stays with the caller the whole time. Music on hold runs in the
background while the session polls its inbox between short waits for a key;
an offer becomes a Dial of the agent's phone (the caller keeps hearing the
music while it rings). Dial returns when the conversation is over, so the
moment of the answer comes from AMI (DialEnd) through the ACD service; when
AMI is down, the answer is posted late, when Dial returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

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
from callcenter.calls.acd_service import AcdService
from callcenter.dialplan.model import Dialplan, Hangup, PlayMessage, ToNumber, ToQueue, ToVoicemail
from callcenter.ivr.prompts import PromptResolver
from callcenter.records import Outcome

__all__ = ["QueueVisit", "QueueWaiting"]

log = logging.getLogger(__name__)

_POLL = 0.5  # seconds between looks at the inbox while the music plays
_DIAL_MAX = 4 * 3600.0  # a Dial lasts as long as the conversation
_MAX_HOPS = 5  # overflow from queue to queue at most this often
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


class _Announcer:
    """When to tell a waiting caller their position: every N seconds, and only when it moved up."""

    def __init__(self, every: int | None, hold_time: bool) -> None:
        self.every = every
        self.hold_time = hold_time
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
    def __init__(self, acd: AcdService, prompts: PromptResolver, clock: Callable[[], datetime]) -> None:
        self._acd = acd
        self._prompts = prompts
        self._clock = clock

    async def wait(
        self, channel: AgiChannel, dialplan: Dialplan, contact: str, priority: int, language: str, visit: QueueVisit
    ) -> None:
        for _ in range(_MAX_HOPS):
            queue = dialplan.queues.get(visit.queue)
            every = queue.announce_every if queue is not None else None
            hold_time = queue.announce_hold_time if queue is not None else False
            overflow = await self._wait_in(channel, contact, priority, visit, _Announcer(every, hold_time))
            if overflow is None:
                return
            action = dialplan.queues[visit.queue].overflow if visit.queue in dialplan.queues else None
            visit.reason = f"overflow_{overflow.reason}"
            log.info("caller %s overflows from %s (%s)", contact, visit.queue, overflow.reason)
            if isinstance(action, ToQueue):
                visit.queue = action.queue
                visit.queued_at = self._clock()
                continue
            if isinstance(action, ToVoicemail | ToNumber):
                await self._play(channel, action.prompts, language)
                where = action.mailbox if isinstance(action, ToVoicemail) else action.number
                context = "cc-voicemail" if isinstance(action, ToVoicemail) else "cc-transfer"
                visit.next_step = (context, where, "1")
                visit.destination = f"{action.action}:{where}"
                visit.outcome = Outcome.VOICEMAIL if isinstance(action, ToVoicemail) else Outcome.TRANSFERRED
                return
            prompts = action.prompts if isinstance(action, PlayMessage | Hangup) else ("all-circuits-busy-now",)
            await self._play(channel, prompts, language)
            visit.outcome = Outcome.OVERFLOWED
            return
        visit.outcome = Outcome.OVERFLOWED
        visit.reason = "overflow_loop"

    async def _wait_in(
        self, channel: AgiChannel, contact: str, priority: int, visit: QueueVisit, announcer: _Announcer
    ) -> Overflow | None:
        """Wait in ``visit.queue`` until connected (None) or overflowed (the Overflow)."""
        uniqueid = channel.header("uniqueid")
        inbox = self._acd.join(contact, uniqueid)
        offer: Offer | None = None
        try:
            self._acd.post(ContactArrived(self._acd.now(), contact, visit.queue, priority))
            log.info("caller %s waits in %s (priority %d)", contact, visit.queue, priority)
            await channel.exec("StartMusicOnHold", "default")
            while True:
                try:
                    delivery = inbox.get_nowait()
                except asyncio.QueueEmpty:
                    if announcer.due(self._acd.now()):
                        await self._announce(channel, contact, visit.queue, announcer)
                    else:
                        await channel.wait_for_key(_POLL)  # a key will ask for a callback, later
                    continue
                if isinstance(delivery, CancelOffer):
                    continue
                if isinstance(delivery, Overflow):
                    await channel.exec("StopMusicOnHold")
                    return delivery
                offer = delivery
                if await self._offer(channel, contact, offer, visit):
                    return None
                offer = None
                await channel.exec("StartMusicOnHold", "default")
        except AgiHangupError:
            agent = self._acd.answered_by(contact)
            if agent is not None:  # the conversation ended with a hang-up (Dial ends the caller's leg too)
                self._acd.post(ContactEnded(self._acd.now(), contact, agent))
                visit.outcome, visit.agent = Outcome.ANSWERED, agent
                visit.connected_at = self._acd.answered_at(contact)
            else:
                self._acd.post(ContactAbandoned(self._acd.now(), contact))
                visit.outcome, visit.reason = Outcome.ABANDONED, "in_queue"
            raise
        finally:
            self._acd.leave(contact, uniqueid)

    async def _offer(self, channel: AgiChannel, contact: str, offer: Offer, visit: QueueVisit) -> bool:
        """Ring the offered agents with the caller; True when one answered (and the conversation is over)."""
        await channel.exec("StopMusicOnHold")
        targets = "&".join(f"PJSIP/{agent}" for agent in offer.agents)
        log.info("offering %s from %s to %s", contact, offer.queue, ", ".join(offer.agents))
        await channel.exec("Dial", f"{targets},{int(offer.timeout)},m", timeout=_DIAL_MAX)
        status = await channel.get_variable("DIALSTATUS")
        if status != "ANSWER":
            for agent in offer.agents:
                self._acd.post(OfferFailed(self._acd.now(), contact, agent, _DIAL_FAILURES.get(status, "no_answer")))
            return False
        agent = self._acd.answered_by(contact) or (await channel.get_variable("DIALEDPEERNUMBER")).split("/")[-1]
        self._acd.record_answer(contact, agent)
        visit.agent = agent
        visit.connected_at = self._acd.answered_at(contact) or self._clock()
        visit.outcome = Outcome.ANSWERED
        self._acd.post(ContactEnded(self._acd.now(), contact, agent))
        return True

    async def _announce(self, channel: AgiChannel, contact: str, queue: str, announcer: _Announcer) -> None:
        """Position and estimated wait, only when there is news: never again "you are next" to the same caller."""
        position = self._acd.position(contact)
        announcer.scheduled(self._acd.now())
        if position == 0 or not announcer.worth_saying(position):
            return
        await channel.exec("StopMusicOnHold")
        if position == 1:
            await channel.stream_file("queue-youarenext")
        else:
            await channel.stream_file("queue-thereare")
            await channel.say_number(position - 1)
            await channel.stream_file("queue-callswaiting")
        minutes = round(self._acd.estimated_wait(queue, position) / 60)
        if announcer.hold_time and minutes >= 1:
            await channel.stream_file("queue-holdtime")
            await channel.say_number(minutes)
            await channel.stream_file("queue-minutes" if minutes > 1 else "queue-minute")
        await channel.exec("StartMusicOnHold", "default")

    async def _play(self, channel: AgiChannel, prompts: tuple[str, ...], language: str) -> None:
        for prompt in prompts:
            await channel.stream_file(self._prompts.path(language, prompt))
