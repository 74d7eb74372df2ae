"""Callbacks: a waiting caller hangs up and is called back, without losing their place in line.

The callback waits in the ACD as a contact of its own (kind CALLBACK) with the
caller's original place (``since``); it never overflows. When the ACD offers it
to an agent, the agent's phone is called first (AMI Originate into
extensions.conf's cc-callback); once the agent answers, the ``callback``
FastAGI flow dials the caller through the carrier and bridges them. A caller
who does not answer is tried again later, at the same place, a few times.

Every change of a callback is written (Callback records: pending, dialling,
done, failed) and its steps hang off the original call's linkedid. Pending
callbacks are taken back after a restart of the service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from callcenter.acd.events import (
    ContactArrived,
    ContactEnded,
    ContactKind,
    Offer,
    OfferAnswered,
    OfferFailed,
)
from callcenter.asterisk.agi import AgiChannel, AgiHangupError
from callcenter.calls.acd_service import AcdService
from callcenter.calls.queue_wait import QueueVisit
from callcenter.ivr.prompts import PromptResolver
from callcenter.records import Callback, CallbackStatus, CallStep, Record, StepKind

__all__ = ["CallbackDesk"]

log = logging.getLogger(__name__)

_AGENT_ANSWER_GRACE = 10.0  # beyond the ring timeout, for Originate's answer
_FLOW_START = 30.0  # the callback FastAGI flow must start this soon after the agent answers
_CALL_MAX = 4 * 3600.0

Originate = Callable[[dict[str, str], float], Awaitable[Any]]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Open:
    record: Callback
    since: float  # the place in line, on the ACD's clock
    started: asyncio.Event = field(default_factory=asyncio.Event)  # the FastAGI flow has the agent's channel
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    reached: bool = False  # the caller answered
    channel: str = ""  # the agent's channel (uniqueid) while the caller is dialled


class CallbackDesk:
    def __init__(
        self,
        acd: AcdService,
        originate: Originate,
        submit: Callable[[Record], None],
        node: str,
        prompts: PromptResolver,
        clock: Callable[[], datetime] = _now,
        attempts: int = 3,
        retry_after: float = 120.0,
        caller_timeout: int = 40,
    ) -> None:
        self._caller_timeout = caller_timeout
        self._prompts = prompts
        self._acd = acd
        self._originate = originate
        self._submit = submit
        self._node = node
        self._clock = clock
        self._attempts = attempts
        self._retry_after = retry_after
        self._open: dict[str, _Open] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- what the queue and the restart give the desk --------------------------------------------------------

    def request(self, contact: str, visit: QueueVisit, priority: int, since: float) -> None:
        now = self._clock()
        record = Callback(
            node=self._node,
            callback_id=contact,
            number=visit.caller,
            queue=visit.queue,
            priority=priority,
            waiting_since=visit.queued_at,
            status=CallbackStatus.PENDING,
            attempts=0,
            updated_at=now,
            line=visit.line,
        )
        self._submit(record)
        self._start(_Open(record, since))

    def restore(self, records: Iterable[Callback]) -> int:
        """Callbacks open before a restart wait again, at their place (the wait before counts)."""
        now_wall, now = self._clock(), self._acd.now()
        count = 0
        for record in sorted(records, key=lambda r: (-r.priority, r.waiting_since)):
            if (
                record.status not in (CallbackStatus.PENDING, CallbackStatus.DIALLING)
                or record.callback_id in self._open
            ):
                continue
            since = now - max(0.0, (now_wall - record.waiting_since).total_seconds())
            self._start(_Open(replace(record, status=CallbackStatus.PENDING), since))
            log.info("callback %s to %s restored in %s", record.callback_id, record.number, record.queue)
            count += 1
        return count

    def pending(self) -> list[Callback]:
        return [entry.record for entry in self._open.values()]

    def answered(self, uniqueid: str) -> None:
        """AMI DialEnd ANSWER on a channel: if it is an agent's callback leg, the caller answered."""
        for entry in self._open.values():
            if entry.channel == uniqueid:
                entry.reached = True

    async def __call__(self, channel: AgiChannel) -> None:
        """The FastAGI handler for ``callback``: on the agent's answered channel, dial the caller and bridge."""
        entry = self._open.get(channel.header("arg_1"))
        await channel.set_variable("CC_DONE", "1")
        if entry is None or entry.record.agent == "":
            log.warning("callback flow for a callback not being dialled: %r", channel.header("arg_1"))
            await channel.hangup()
            return
        entry.channel = channel.header("uniqueid")
        entry.started.set()
        record = entry.record
        started = self._clock()
        status = "HANGUP"
        try:
            language = await channel.get_variable("CHANNEL(language)") or "en"
            await channel.stream_file(self._prompts.path(language, "cc/callback-intro"))
            if record.line:
                await channel.set_variable("CALLERID(num)", record.line)
            target = f"PJSIP/{record.number}@carrier,{self._caller_timeout}"
            await channel.exec("Dial", target, timeout=_CALL_MAX)
            status = await channel.get_variable("DIALSTATUS")
            entry.reached = entry.reached or status == "ANSWER"
            await channel.hangup()
        except AgiHangupError:
            pass  # the agent hung up; whether the caller had answered came from AMI (DialEnd)
        finally:
            ended = self._clock()
            result = "answered" if entry.reached else status.lower()
            self._step(entry, StepKind.CALLBACK_DIALLED, agent=record.agent, result=result, at=started)
            if entry.reached:
                self._step(entry, StepKind.ENDED, agent=record.agent, seconds=(ended - started).total_seconds())
            entry.finished.set()

    async def run(self) -> None:
        """Hold the callbacks' tasks; cancelling this cancels them (their records stay pending)."""
        try:
            await asyncio.Event().wait()
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- one callback, from its place in line to the end -----------------------------------------------------

    def _start(self, entry: _Open) -> None:
        self._open[entry.record.callback_id] = entry
        task = asyncio.get_running_loop().create_task(self._serve(entry), name=f"callback-{entry.record.callback_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _update(self, entry: _Open, **changes: Any) -> None:
        entry.record = replace(entry.record, updated_at=self._clock(), **changes)
        self._submit(entry.record)

    def _step(self, entry: _Open, kind: StepKind, at: datetime | None = None, **values: Any) -> None:
        record = entry.record
        self._submit(CallStep(self._node, record.callback_id, at or self._clock(), kind, record.queue, **values))

    async def _serve(self, entry: _Open) -> None:
        contact = f"callback-{entry.record.callback_id}"
        try:
            while True:
                agent = await self._ring_an_agent(contact, entry)
                reached = await self._call_the_caller(contact, entry, agent)
                if reached:
                    self._update(entry, status=CallbackStatus.DONE, agent=agent)
                    return
                attempts = entry.record.attempts + 1
                if attempts >= self._attempts:
                    self._update(entry, status=CallbackStatus.FAILED, attempts=attempts, agent=agent)
                    log.warning("callback %s to %s given up after %d attempts", contact, entry.record.number, attempts)
                    return
                self._update(entry, status=CallbackStatus.PENDING, attempts=attempts, agent="")
                await asyncio.sleep(self._retry_after)
        except Exception:
            log.exception("callback %s failed; it stays pending until the next start", contact)
        finally:
            self._open.pop(entry.record.callback_id, None)

    async def _ring_an_agent(self, contact: str, entry: _Open) -> str:
        """Wait in line until an agent is offered the callback and answers their phone; that agent."""
        uniqueid = f"callback:{entry.record.callback_id}"
        inbox = self._acd.join(contact, uniqueid)
        try:
            self._acd.post(
                ContactArrived(
                    self._acd.now(),
                    contact,
                    entry.record.queue,
                    entry.record.priority,
                    since=entry.since,
                    kind=ContactKind.CALLBACK,
                )
            )
            while True:
                offer = await inbox.get()
                if not isinstance(offer, Offer):
                    continue  # a cancelled ring; callbacks never overflow
                agent, others = offer.agents[0], offer.agents[1:]
                for other in others:  # ring-all: the agent's phone is called alone
                    self._acd.post(OfferFailed(self._acd.now(), contact, other, "rejected"))
                self._update(entry, status=CallbackStatus.DIALLING, agent=agent)
                log.info("callback %s: calling agent %s first", contact, agent)
                if await self._agent_answers(entry, agent, offer.timeout):
                    self._acd.post(OfferAnswered(self._acd.now(), contact, agent))
                    return agent
                self._acd.post(OfferFailed(self._acd.now(), contact, agent, "no_answer"))
                self._step(entry, StepKind.OFFERED, agent=agent, result="no_answer", seconds=offer.timeout)
        finally:
            self._acd.leave(contact, uniqueid)

    async def _agent_answers(self, entry: _Open, agent: str, timeout: float) -> bool:
        record = entry.record
        entry.started.clear()
        entry.finished.clear()
        entry.reached, entry.channel = False, ""
        action = {
            "Action": "Originate",
            "Channel": f"PJSIP/{agent}",
            "Context": "cc-callback",
            "Exten": "s",
            "Priority": "1",
            "Timeout": str(int(timeout * 1000)),
            "CallerID": f'"Callback {record.queue}" <{record.number}>',
            "Variable": f"CC_CALLBACK={record.callback_id}",
        }
        try:
            await self._originate(action, timeout + _AGENT_ANSWER_GRACE)
        except Exception as error:  # no answer, busy, unreachable, AMI down: the same for the line
            log.info("callback %s: agent %s did not answer (%s)", record.callback_id, agent, error)
            return False
        return True

    async def _call_the_caller(self, contact: str, entry: _Open, agent: str) -> bool:
        """The agent answered: the FastAGI flow dials the caller. True when the caller answered."""
        try:
            async with asyncio.timeout(_FLOW_START):
                await entry.started.wait()
            async with asyncio.timeout(_CALL_MAX):
                await entry.finished.wait()
        except TimeoutError:
            log.error("callback %s: the callback flow did not run or never ended", contact)
        self._acd.post(ContactEnded(self._acd.now(), contact, agent))
        return entry.reached
