"""Queue contacts: one caller's visit to one queue, derived from the steps of one call.

A call's steps (``CallStep``s of one (node, linkedid)) hold every queue it passed through: each
``queued`` step opens a visit, so a call transferred or overflowed into another queue makes several
contacts. The KPI formulas (``callcenter.kpi.measures``) count contacts, never calls.

Pure: no I/O, no clock; stdlib and ``callcenter.records`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from callcenter.records import CallStep, StepKind

__all__ = ["ContactOutcome", "QueueContact", "contacts_from_steps"]


class ContactOutcome(StrEnum):
    ANSWERED = "answered"  # an agent answered (a transfer by that agent keeps it answered: see ``transferred``)
    ABANDONED = "abandoned"  # the caller hung up while waiting
    OVERFLOWED = "overflowed"  # the queue's overflow rule took the caller out (max wait, full, nobody logged in)
    CALLBACK = "callback"  # the caller left the line asking to be called back
    WAITING = "waiting"  # no end step (yet): still in line, or the end was never written


@dataclass(frozen=True)
class QueueContact:
    """One visit of a call to one queue.

    ``wait_seconds``: the wait in this queue up to the answer, the abandon, the overflow or the callback
    request; None while WAITING. ``talk_seconds``: the conversation minus the time on hold (the
    ``ended`` step spans the whole conversation, hold inside it; subtracting keeps AHT's talk and hold
    apart and not counted twice); None when not answered or when the conversation's end is unknown.
    ``wrapup_seconds``: the agent's wrap-up after this contact. The steps do not carry it (it comes from
    the agents' state history), so it is 0 here; whoever knows it sets it with ``dataclasses.replace``.
    """

    node: str
    linkedid: str
    queue: str
    entered_at: datetime
    outcome: ContactOutcome
    line: str = ""  # the dialled number (an 8-800 line), as passed to contacts_from_steps
    wait_seconds: float | None = None
    agent: str = ""  # who answered; "" when nobody did
    talk_seconds: float | None = None
    hold_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    transferred: bool = False  # the agent who answered transferred the call on
    ring_no_answer: int = 0  # offers to agents that rang out unanswered (result no_answer)
    ended_at: datetime | None = None  # when the conversation ended: the agent's wrap-up starts about then

    @property
    def handled(self) -> bool:
        """Answered and the conversation's end known: what AHT divides by."""
        return self.outcome is ContactOutcome.ANSWERED and self.talk_seconds is not None


@dataclass
class _Visit:
    """A visit being built while the steps are read (mutable on purpose; frozen into a QueueContact)."""

    queued: CallStep
    outcome: ContactOutcome = ContactOutcome.WAITING
    wait: float | None = None
    agent: str = ""
    connected_at: datetime | None = None
    talk: float | None = None
    ended_at: datetime | None = None
    hold: float = 0.0
    talking: bool = False  # between the answer and the end of the conversation: holds count here
    transferred: bool = False
    no_answer: int = 0

    @property
    def closed(self) -> bool:
        return self.outcome is not ContactOutcome.WAITING


def contacts_from_steps(steps: Sequence[CallStep], line: str = "") -> list[QueueContact]:
    """The queue contacts of one call, in the order it entered the queues.

    ``steps`` are the steps of one (node, linkedid); they are sorted by time here (stable, so steps
    written at the same instant keep their order), because offers and holds are written when they end
    but stamped when they began. Steps before the first ``queued`` belong to no visit and are ignored,
    as are the steps of a callback's own dialling after a ``callback_requested`` (the callback is an
    outbound call: not counted as a queue contact here). A ``queued`` step in the queue a visit still waits
    in continues that visit (a caller requeued after a restart keeps their place, and is one contact).
    """
    visits: list[_Visit] = []
    for step in sorted(steps, key=lambda s: s.at):
        if step.kind is StepKind.QUEUED:
            # The same queue again while the visit still waits: the caller back at their place after a
            # restart of the service (calls/resync.py), the same visit; anything else is a new one.
            if not (visits and not visits[-1].closed and visits[-1].queued.queue == step.queue):
                visits.append(_Visit(step))
            continue
        if not visits:
            continue
        _apply(visits[-1], step)
    return [_freeze(visit, line) for visit in visits]


def _apply(visit: _Visit, step: CallStep) -> None:
    kind = step.kind
    if kind is StepKind.OFFERED:
        if not visit.closed and step.result == "no_answer":
            visit.no_answer += 1
    elif kind is StepKind.CONNECTED:
        if not visit.closed:
            visit.outcome, visit.agent, visit.connected_at = ContactOutcome.ANSWERED, step.agent, step.at
            visit.wait = _waited(visit, step)
            visit.talking = True
    elif kind is StepKind.HOLD:
        if visit.talking:
            visit.hold += step.seconds or 0.0
    elif kind is StepKind.TRANSFERRED:
        # Written before or just after the end of the conversation (AMI may tell of it late): it marks
        # the answered visit it belongs to either way.
        if visit.outcome is ContactOutcome.ANSWERED:
            visit.transferred = True
    elif kind is StepKind.ENDED:
        if visit.talking:
            visit.talking = False
            # A conversation resumed after a restart ends without seconds: the timestamps say it.
            talk = step.seconds
            if talk is None and visit.connected_at is not None:
                talk = (step.at - visit.connected_at).total_seconds()
            visit.talk = talk
            visit.ended_at = step.at
    elif kind in _ENDS_OF_WAIT:
        if not visit.closed:
            visit.outcome = _ENDS_OF_WAIT[kind]
            visit.wait = _waited(visit, step)
    # callback_dialled: the callback's own call, not this visit's.


_ENDS_OF_WAIT = {
    StepKind.ABANDONED: ContactOutcome.ABANDONED,
    StepKind.OVERFLOWED: ContactOutcome.OVERFLOWED,
    StepKind.CALLBACK_REQUESTED: ContactOutcome.CALLBACK,
}


def _waited(visit: _Visit, step: CallStep) -> float:
    """The wait the step states (these steps' seconds are the wait), else the time since the queued step."""
    if step.seconds is not None:
        return step.seconds
    return (step.at - visit.queued.at).total_seconds()


def _freeze(visit: _Visit, line: str) -> QueueContact:
    queued = visit.queued
    talk = visit.talk
    if talk is not None:
        talk = max(0.0, talk - visit.hold)  # hold is inside the conversation's seconds
    return QueueContact(
        node=queued.node,
        linkedid=queued.linkedid,
        queue=queued.queue,
        entered_at=queued.at,
        outcome=visit.outcome,
        line=line,
        wait_seconds=visit.wait,
        agent=visit.agent,
        talk_seconds=talk,
        hold_seconds=visit.hold,
        transferred=visit.transferred,
        ring_no_answer=visit.no_answer,
        ended_at=visit.ended_at,
    )
