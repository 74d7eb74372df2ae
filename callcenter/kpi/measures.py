"""Queue KPIs over a set of queue contacts (GUIDE §3 "KPI definitions").

Boundary rules (the same everywhere, tested exactly at the thresholds):

- A wait exactly equal to the service threshold T is *within* T (``wait <= T``).
- An abandon exactly at the short-abandon threshold S is a *short* abandon (``wait <= S``).
- Short abandons leave every service-level and abandonment denominator, and the numerators with them:
  ``abandoned_within_target`` counts abandons with ``S < wait <= T`` (GUIDE: short abandons are
  excluded from SL denominators, so SL2 excludes them too).
- Overflows and callback requests stay in ``offered`` (so they count against ``sl_offered``) but are
  neither answered nor abandoned (so they are outside ``sl_answered``, ``sl_asterisk2`` and the
  abandonment rate's numerator).
- A contact still WAITING (no end step) counts as offered only.

Ratios are None when their denominator is 0. Wrap-up comes from ``QueueContact.wrapup_seconds`` (the
steps do not carry it; set it per contact from the agents' state history), so it follows the contact
into any grouping: per queue, agent, line or interval.

Pure: no I/O, no clock; stdlib only.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from callcenter.kpi.contacts import ContactOutcome, QueueContact

__all__ = [
    "QueueMeasures",
    "Thresholds",
    "by_agent",
    "by_line",
    "by_queue",
    "group_by",
    "intervals",
    "measure",
    "measure_by_queue",
]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Thresholds:
    """Per-queue settings: T for service level, S for short abandons (seconds)."""

    service_seconds: float = 20.0
    short_abandon_seconds: float = 5.0


@dataclass(frozen=True)
class QueueMeasures:
    offered: int
    answered: int
    abandoned: int  # every abandon, short ones included
    short_abandoned: int  # wait <= S
    overflowed: int
    callbacks: int
    transferred: int  # answered contacts the agent transferred on
    answered_within_target: int  # wait <= T
    abandoned_within_target: int  # S < wait <= T
    handled: int  # answered with the conversation's end known: AHT's divisor
    talk_seconds: float  # totals over the handled contacts; hold is not inside talk
    hold_seconds: float
    wrapup_seconds: float
    ring_no_answer: int
    sl_offered: float | None  # answered within T / (offered - short abandons): the default, shown one
    sl_answered: float | None  # answered within T / answered (Asterisk SL, Wazo QoS)
    sl_asterisk2: float | None  # (answered + abandoned within T) / (answered + abandoned), short ones out
    asa_seconds: float | None  # mean wait of the answered contacts
    max_wait_seconds: float | None  # longest wait of any contact whose wait ended
    abandonment_rate: float | None  # abandoned after S / (offered - short abandons)
    aht_seconds: float | None  # (talk + hold + wrap-up) / handled


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def measure(contacts: Sequence[QueueContact], thresholds: Thresholds = Thresholds()) -> QueueMeasures:
    """The KPIs of ``contacts`` (any selection: a queue, an agent, a line, an interval, a date range)."""
    t, s = thresholds.service_seconds, thresholds.short_abandon_seconds
    answered = [c for c in contacts if c.outcome is ContactOutcome.ANSWERED]
    abandoned = [c for c in contacts if c.outcome is ContactOutcome.ABANDONED]
    short = [c for c in abandoned if _wait(c) <= s]
    long_abandons = [c for c in abandoned if _wait(c) > s]
    handled = [c for c in answered if c.handled]
    waits = [c.wait_seconds for c in contacts if c.wait_seconds is not None]

    answered_in_t = sum(1 for c in answered if _wait(c) <= t)
    abandoned_in_t = sum(1 for c in long_abandons if _wait(c) <= t)
    not_short = len(contacts) - len(short)
    talk = sum(c.talk_seconds or 0.0 for c in handled)
    hold = sum(c.hold_seconds for c in handled)
    wrapup = sum(c.wrapup_seconds for c in handled)
    return QueueMeasures(
        offered=len(contacts),
        answered=len(answered),
        abandoned=len(abandoned),
        short_abandoned=len(short),
        overflowed=sum(1 for c in contacts if c.outcome is ContactOutcome.OVERFLOWED),
        callbacks=sum(1 for c in contacts if c.outcome is ContactOutcome.CALLBACK),
        transferred=sum(1 for c in answered if c.transferred),
        answered_within_target=answered_in_t,
        abandoned_within_target=abandoned_in_t,
        handled=len(handled),
        talk_seconds=talk,
        hold_seconds=hold,
        wrapup_seconds=wrapup,
        ring_no_answer=sum(c.ring_no_answer for c in contacts),
        sl_offered=_ratio(answered_in_t, not_short),
        sl_answered=_ratio(answered_in_t, len(answered)),
        sl_asterisk2=_ratio(answered_in_t + abandoned_in_t, len(answered) + len(long_abandons)),
        asa_seconds=_ratio(sum(_wait(c) for c in answered), len(answered)),
        max_wait_seconds=max(waits) if waits else None,
        abandonment_rate=_ratio(len(long_abandons), not_short),
        aht_seconds=_ratio(talk + hold + wrapup, len(handled)),
    )


def _wait(contact: QueueContact) -> float:
    # Answered and abandoned contacts always carry a wait (contacts_from_steps sets it with the outcome).
    return contact.wait_seconds if contact.wait_seconds is not None else 0.0


def measure_by_queue(
    contacts: Sequence[QueueContact], thresholds: Mapping[str, Thresholds], default: Thresholds = Thresholds()
) -> dict[str, QueueMeasures]:
    """The KPIs per queue, each with its own thresholds (``default`` for queues not in ``thresholds``)."""
    return {queue: measure(group, thresholds.get(queue, default)) for queue, group in by_queue(contacts).items()}


def intervals(
    contacts: Sequence[QueueContact], width: timedelta = timedelta(minutes=15)
) -> dict[datetime, list[QueueContact]]:
    """Contacts by the interval they entered the queue in, keyed by the interval's start (UTC, sorted).

    Intervals are aligned to ``width`` from midnight UTC (a width that does not divide a day makes a
    shorter last interval before midnight). A contact counts in the interval it entered, however long
    it lasted. A naive ``entered_at`` is taken as UTC.
    """
    if width <= timedelta(0):
        raise ValueError(f"interval width must be positive, not {width}")
    buckets: dict[datetime, list[QueueContact]] = {}
    for contact in contacts:
        at = contact.entered_at
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
        start = midnight + ((at - midnight) // width) * width
        buckets.setdefault(start, []).append(contact)
    return dict(sorted(buckets.items()))


def group_by(contacts: Sequence[QueueContact], key: Callable[[QueueContact], K]) -> dict[K, list[QueueContact]]:
    """Contacts grouped by ``key``, groups in order of first appearance."""
    groups: dict[K, list[QueueContact]] = {}
    for contact in contacts:
        groups.setdefault(key(contact), []).append(contact)
    return groups


def by_queue(contacts: Sequence[QueueContact]) -> dict[str, list[QueueContact]]:
    return group_by(contacts, lambda c: c.queue)


def by_line(contacts: Sequence[QueueContact]) -> dict[str, list[QueueContact]]:
    return group_by(contacts, lambda c: c.line)


def by_agent(contacts: Sequence[QueueContact]) -> dict[str, list[QueueContact]]:
    """Only the contacts an agent answered: an agent's SL and abandons mean nothing (their offered = answered)."""
    return group_by([c for c in contacts if c.agent], lambda c: c.agent)
