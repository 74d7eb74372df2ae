"""Transfers by an agent, blind and attended, to another agent, a queue or a number: the record follows.

The agent's desk phone transfers with Asterisk's own features (features.conf: ``##`` blind, ``*2``
attended, then the target), allowed on queue offers (Dial's ``t``) into the context cc-agent-transfer
(extensions.conf): an agent's extension, ``*7`` and a queue's ``transfer_code``, or a number through the
carrier. Asterisk keeps the call's linkedid through every kind of transfer, so everything hangs off
the same call:

- AMI ``BlindTransfer`` / ``AttendedTransfer`` (``TransferDesk.event``) say who transferred which call
  where. The waiting session that has the agent on the line is told at once
  (``QueueWaiting.transferred``): the agent's part ends (wrap-up), a TRANSFERRED step is journalled
  (detail ``blind:queue:sales``, ``attended:agent:1003``) and the call's record says ``transferred``
  with the target as destination. A blind transfer may take the caller out of the session before the
  event arrives: then the step is journalled here and the record amended (CallUpdate).
- A transfer to a queue comes back over FastAGI (``transfer``, with the linkedid and the code): the
  caller (blind), or the consultation's Local channel the caller joins later (attended), waits in the
  queue through the same QueueWaiting, its steps (queued, offered, connected, ended) under the call's
  linkedid. The ACD knows this wait by a contact id of its own (``<linkedid>~t<n>``), because during an
  attended transfer the first conversation is still going on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from callcenter.asterisk.agi import AgiChannel, AgiHangupError
from callcenter.asterisk.ami import event_field
from callcenter.calls.queue_wait import QueueVisit, QueueWaiting
from callcenter.calls.resync import parse_waiting
from callcenter.dialplan.model import Dialplan
from callcenter.records import CallStep, CallUpdate, Outcome, Record, StepKind

__all__ = [
    "TRANSFER_CONTEXT",
    "Transfer",
    "TransferDesk",
    "describe_target",
    "endpoint_of",
    "parse_transfer",
    "queue_for_code",
]

log = logging.getLogger(__name__)

TRANSFER_CONTEXT = "cc-agent-transfer"  # extensions.conf; set as TRANSFER_CONTEXT by the offer's pre-dial handler
QUEUE_PREFIX = "*7"  # *7 and a queue's transfer_code


_RECORD_SETTLES = 3.0  # seconds for an ended session to write its record


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Transfer:
    """A transfer Asterisk made, as the AMI event tells it."""

    kind: Literal["blind", "attended"]
    linkedid: str  # the call (the transferred caller's linkedid)
    agent: str  # the transferring agent's endpoint (their extension)
    exten: str  # what the agent dialled in the transfer context
    context: str
    ok: bool  # Asterisk's Result was Success


def endpoint_of(channel: str) -> str:
    """PJSIP/1001-0000002a -> 1001; '' for a channel that is not a PJSIP endpoint's."""
    if not channel.startswith("PJSIP/"):
        return ""
    return channel.removeprefix("PJSIP/").rsplit("-", 1)[0]


def _local_target(channel: str) -> tuple[str, str]:
    """Local/1003@cc-agent-transfer-0000001f;1 -> ('1003', 'cc-agent-transfer'); ('', '') otherwise."""
    if not channel.startswith("Local/") or "@" not in channel:
        return "", ""
    exten, _, rest = channel.removeprefix("Local/").partition("@")
    context = rest.rsplit(";", 1)[0].rsplit("-", 1)[0]
    return exten, context


def parse_transfer(event: Mapping[str, Any]) -> Transfer | None:
    """A BlindTransfer or AttendedTransfer AMI event as a Transfer; None for any other event."""
    name = event_field(event, "Event")

    def field(key: str) -> str:
        return event_field(event, key)

    if name == "BlindTransfer":
        return Transfer(
            kind="blind",
            linkedid=field("TransfereeLinkedid") or field("TransfererLinkedid"),
            agent=endpoint_of(field("TransfererChannel")),
            exten=field("Extension"),
            context=field("Context"),
            ok=field("Result") == "Success",
        )
    if name == "AttendedTransfer":
        # The DTMF attended transfer dials the target through a Local channel named after it; the
        # agent's first channel is the original transferer.
        exten, context = _local_target(field("TransferTargetChannel"))
        if not exten:
            exten, context = _local_target(field("LocalOneChannel"))
        if not exten and field("SecondTransfererContext") == TRANSFER_CONTEXT:
            exten, context = field("SecondTransfererExten"), TRANSFER_CONTEXT
        # The consultation's Local channel optimized away once the target answered (DestType Bridge: no
        # target channel in the event at all): the target is whom the agent's phone was last connected to,
        # dialled from the transfer context (the only one a queue call's agent transfers from).
        target = endpoint_of(field("TransferTargetChannel")) or field("SecondTransfererConnectedLineNum")
        if not exten and target.lstrip("+*").isdigit():
            exten, context = target, TRANSFER_CONTEXT
        return Transfer(
            kind="attended",
            linkedid=field("TransfereeLinkedid") or field("OrigTransfererLinkedid"),
            agent=endpoint_of(field("OrigTransfererChannel")) or endpoint_of(field("SecondTransfererChannel")),
            exten=exten,
            context=context,
            ok=field("Result") == "Success",
        )
    return None


def queue_for_code(code: str, dialplan: Dialplan) -> str | None:
    """The queue whose transfer_code is ``code``."""
    for name, queue in dialplan.queues.items():
        if queue.transfer_code is not None and queue.transfer_code == code:
            return name
    return None


def describe_target(exten: str, dialplan: Dialplan) -> str:
    """Where a transfer to ``exten`` (in cc-agent-transfer) goes, as the records say it:
    ``agent:1003``, ``queue:sales``, ``number:+74951234567``; ``exten:...`` for anything else."""
    if exten.startswith(QUEUE_PREFIX):
        queue = queue_for_code(exten.removeprefix(QUEUE_PREFIX), dialplan)
        return f"queue:{queue}" if queue is not None else f"exten:{exten}"
    if exten.isdigit() and len(exten) == 11 and exten[0] in "78":
        return f"number:+7{exten[1:]}"
    if exten.isdigit() and len(exten) == 4:
        return f"agent:{exten}"
    return f"exten:{exten}"


class TransferDesk:
    """Follows agents' transfers: the AMI events (``event``), and callers transferred to a queue (the
    FastAGI handler for ``transfer``)."""

    def __init__(
        self,
        dialplan: Callable[[], Dialplan],
        queues: QueueWaiting,
        submit: Callable[[Record], None],
        node: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._dialplan = dialplan
        self._queues = queues
        self._submit = submit
        self._node = node
        self._clock = clock
        self._legs = itertools.count(1)

    def event(self, event: Mapping[str, Any]) -> None:
        """An AMI event: a transfer made by an agent from a queue call is recorded on the call."""
        transfer = parse_transfer(event)
        if transfer is None:
            return
        if not transfer.ok or transfer.context != TRANSFER_CONTEXT or not transfer.linkedid:
            log.info(
                "transfer not followed (%s): %s; %s",
                "failed" if not transfer.ok else "not an agent's",
                transfer,
                {key: value for key, value in event.items() if "Transfer" in key or key in ("Result", "DestType")},
            )
            return
        target = describe_target(transfer.exten, self._dialplan())
        log.info("call %s: agent %s made a %s transfer to %s", transfer.linkedid, transfer.agent, transfer.kind, target)
        if self._queues.transferred(transfer.linkedid, transfer.agent, transfer.kind, target):
            # The session's record will say so, unless it was written a moment ago: say it again then.
            update = CallUpdate(
                self._node,
                transfer.linkedid,
                outcome=Outcome.TRANSFERRED,
                outcome_reason=transfer.kind,
                agent=transfer.agent or None,
                destination=target,
            )
            asyncio.get_running_loop().call_later(_RECORD_SETTLES, self._submit, update)
            return
        # The caller's session had ended already (a blind transfer takes the caller out of the Dial at
        # once, and the session may hear of it before AMI does): the record is amended. Or a session of the
        # call goes on without the agent on its line as the ACD knows it: it takes the transfer at its end.
        placed = self._queues.transferred_elsewhere(transfer.linkedid, transfer.agent, transfer.kind, target)
        now = self._clock()
        queue, at = placed or ("", now)
        detail = f"{transfer.kind}:{target}"
        self._submit(
            CallStep(
                self._node, transfer.linkedid, at, StepKind.TRANSFERRED, queue, agent=transfer.agent, detail=detail
            )
        )
        update = CallUpdate(
            self._node,
            transfer.linkedid,
            ended_at=now,
            outcome=Outcome.TRANSFERRED,
            outcome_reason=transfer.kind,
            agent=transfer.agent or None,
            destination=target,
        )
        self._submit(update)
        # The session that ended may not have written its record yet (it still hangs up or hands the call
        # on): the same update again once it has, so the record's end is the transfer either way.
        asyncio.get_running_loop().call_later(_RECORD_SETTLES, self._submit, update)

    async def __call__(self, channel: AgiChannel) -> None:
        """FastAGI ``transfer``: arguments the call's linkedid and the queue's transfer_code."""
        linkedid = channel.header("arg_1") or channel.header("uniqueid")
        code = channel.header("arg_2")
        dialplan = self._dialplan()
        queue = queue_for_code(code, dialplan)
        if queue is None:
            log.warning("call %s transferred to queue code %r, which no queue has: it ends", linkedid, code)
            try:
                await channel.stream_file("pbx-invalid")
                await channel.set_variable("CC_DONE", "1")
                await channel.hangup()
            except AgiHangupError:
                pass
            return
        language = await channel.get_variable("CHANNEL(language)") or "en"
        # A caller transferred blind brings the priority they had in their first queue (VIPs stay VIPs).
        waiting = parse_waiting(await channel.get_variable("CC_WAITING"))
        priority = waiting.priority if waiting is not None else 0
        contact = f"{linkedid}~t{next(self._legs)}"
        visit = QueueVisit(queue, self._clock(), linkedid=linkedid)
        log.info("call %s transferred to queue %s (waits as %s)", linkedid, queue, contact)
        try:
            await self._queues.wait(channel, dialplan, contact, priority, language, visit)
            await self._queues.hand_on(channel, visit)
        except AgiHangupError:
            pass
        finally:
            # The call ends later than its first part said; where it went stays the transfer.
            self._submit(CallUpdate(self._node, linkedid, ended_at=self._clock()))
