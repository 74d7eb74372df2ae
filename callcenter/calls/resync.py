"""After a restart of the service: callers and conversations that outlived it are taken back.

Two cases, both keyed by the call's linkedid:
- a caller who was waiting in a queue comes back over FastAGI (``requeue``, from
  extensions.conf's cc-requeue, with CC_WAITING = queue|since|priority): they wait
  again at the place they had, and the call's record is amended at its end;
- a caller who was talking to an agent is found over AMI (``Status`` with the
  channel variables the queue set): the agent is busy in the ACD until the call
  ends (AMI Hangup), then wraps up; the record gets its end and its talk step. Such a call
  that ends while AMI is away (Asterisk restarting) sends no Hangup we can see: after each
  reconnect, ``still_up`` ends the ones whose caller's channel Asterisk no longer has.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from panoramisk.message import Message

from callcenter.acd.events import CallResumed, ContactEnded
from callcenter.asterisk.agi import AgiChannel, AgiHangupError
from callcenter.calls.acd_service import AcdService
from callcenter.calls.queue_wait import QueueVisit, QueueWaiting
from callcenter.dialplan.model import Dialplan
from callcenter.dialplan.numbers import InvalidNumberError, normalize_number
from callcenter.records import CallStep, CallUpdate, Outcome, Record, StepKind

__all__ = ["LiveCalls", "RequeueFlow", "parse_waiting"]

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Waiting:
    queue: str
    since: datetime
    priority: int


def parse_waiting(value: str) -> Waiting | None:
    """CC_WAITING as the queue wrote it; None when it is missing or not ours."""
    parts = value.split("|")
    if len(parts) != 3 or not parts[0]:
        return None
    try:
        return Waiting(parts[0], datetime.fromtimestamp(float(parts[1]), UTC), int(parts[2]))
    except (ValueError, OverflowError, OSError):
        return None


class RequeueFlow:
    """The FastAGI handler for ``requeue``: a caller back from a restart waits again, at the same place."""

    def __init__(
        self,
        dialplan: Callable[[], Dialplan],
        queues: QueueWaiting,
        acd: AcdService,
        submit: Callable[[Record], None],
        node: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._dialplan = dialplan
        self._queues = queues
        self._acd = acd
        self._submit = submit
        self._node = node
        self._clock = clock

    async def __call__(self, channel: AgiChannel) -> None:
        linkedid = channel.header("arg_1") or channel.header("uniqueid")
        waiting = parse_waiting(await channel.get_variable("CC_WAITING"))
        dialplan = self._dialplan()
        if waiting is None or waiting.queue not in dialplan.queues:
            log.warning(
                "requeue of %s: no queue to go back to (%r); the caller goes to the fallback", linkedid, waiting
            )
            return
        language = await channel.get_variable("CHANNEL(language)") or "en"
        try:
            caller = normalize_number(channel.header("callerid"))
        except InvalidNumberError:
            caller = ""
        visit = QueueVisit(waiting.queue, waiting.since, caller=caller)
        # The place in line: as long ago on the ACD's clock as on the wall clock.
        visit.since = self._acd.now() - max(0.0, (self._clock() - waiting.since).total_seconds())
        log.info("caller %s is back in %s after a restart (waiting since %s)", linkedid, waiting.queue, waiting.since)
        try:
            await self._queues.wait(channel, dialplan, linkedid, waiting.priority, language, visit)
            await self._queues.hand_on(channel, visit)
        except AgiHangupError:
            pass
        finally:
            self._submit(
                CallUpdate(
                    self._node,
                    linkedid,
                    ended_at=self._clock(),
                    outcome=visit.outcome,
                    outcome_reason=visit.reason,
                    queue=visit.queue,
                    agent=visit.agent or None,
                    connected_at=visit.connected_at,
                    destination=visit.destination or None,
                )
            )


@dataclass
class _Talking:
    contact: str
    queue: str
    agent: str


class LiveCalls:
    """Conversations between callers and agents that were going on when the service started."""

    def __init__(
        self, acd: AcdService, submit: Callable[[Record], None], node: str, clock: Callable[[], datetime] = _now
    ):
        self._acd = acd
        self._submit = submit
        self._node = node
        self._clock = clock
        self._talking: dict[str, _Talking] = {}  # the caller's channel uniqueid -> the conversation

    def found(self, statuses: list[Message]) -> int:
        """Take AMI ``Status`` replies (with CC_WAITING asked for): each bridged caller and agent. Returns how many."""
        by_bridge: dict[str, list[Message]] = {}
        for status in statuses:
            bridge = status.get("BridgeID", "")
            if bridge:
                by_bridge.setdefault(bridge, []).append(status)
        count = 0
        for members in by_bridge.values():
            # The caller's channel carries CC_WAITING (set by the queue); the agent's leg does not inherit it.
            callers = [m for m in members if parse_waiting(_variable(m, "CC_WAITING"))]
            agents = [m for m in members if not parse_waiting(_variable(m, "CC_WAITING"))]
            if len(callers) != 1 or len(agents) != 1:
                continue
            caller, agent_leg = callers[0], agents[0]
            waiting = parse_waiting(_variable(caller, "CC_WAITING"))
            assert waiting is not None
            agent = agent_leg.get("Channel", "").removeprefix("PJSIP/").rsplit("-", 1)[0]
            talk = _Talking(caller.get("Linkedid") or caller.get("Uniqueid", ""), waiting.queue, agent)
            self._talking[caller.get("Uniqueid", "")] = talk
            self._acd.post(CallResumed(self._acd.now(), talk.contact, talk.queue, agent))
            log.info("call %s with agent %s goes on after the restart", talk.contact, agent)
            count += 1
        return count

    def still_up(self, statuses: list[Message]) -> int:
        """After AMI reconnects: the ``Status`` of every channel now. Resumed conversations whose caller's
        channel is not among them ended while AMI was away; they end now. Returns how many."""
        present = {status.get("Uniqueid", "") for status in statuses}
        gone = [uniqueid for uniqueid in self._talking if uniqueid not in present]
        for uniqueid in gone:
            self.hung_up(uniqueid)
        return len(gone)

    def hung_up(self, uniqueid: str) -> None:
        """AMI Hangup of a channel: if it was a resumed conversation, it is over."""
        talk = self._talking.pop(uniqueid, None)
        if talk is None:
            return
        now = self._clock()
        self._acd.post(ContactEnded(self._acd.now(), talk.contact, talk.agent))
        self._submit(CallStep(self._node, talk.contact, now, StepKind.ENDED, talk.queue, agent=talk.agent))
        self._submit(
            CallUpdate(
                self._node, talk.contact, ended_at=now, outcome=Outcome.ANSWERED, outcome_reason="", agent=talk.agent
            )
        )
        log.info("call %s with agent %s ended (resumed after a restart)", talk.contact, talk.agent)


def _variable(status: Message, name: str) -> str:
    """A channel variable from a Status event (``Variable: NAME=value``, one or several lines)."""
    lines = status.get("Variable", [])
    for line in [lines] if isinstance(lines, str) else lines:
        key, _, value = str(line).partition("=")
        if key == name:
            return value
    return str(status.get(name, ""))
