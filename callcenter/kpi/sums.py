"""Additive sums behind every KPI, so figures roll up: per contact, per interval, per any grouping.

``contact_sums`` turns one queue contact into counts and second totals under its queue's thresholds;
summing them (``ContactSums.__add__``, ``max`` for the longest wait) over any set of contacts and then
``kpis`` gives exactly what ``measures.measure`` gives over that set (tested), plus FCR. This is what the
rollup tables store per (interval, queue, line) and (interval, queue, agent), and what reports add up
into hours, days, queues, agents or lines. Because the threshold flags are fixed per contact, a changed
threshold applies to contacts summed after it (a rollup rebuild).

Pure: no I/O, no clock; stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from callcenter.kpi.contacts import ContactOutcome, QueueContact
from callcenter.kpi.measures import QueueMeasures, Thresholds

__all__ = [
    "SUM_FIELDS",
    "CallSums",
    "ContactSums",
    "Kpis",
    "call_sums",
    "contact_sums",
    "kpis",
    "measures_of",
    "total",
]


@dataclass(frozen=True)
class ContactSums:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0  # every abandon, short ones included
    short_abandoned: int = 0  # wait <= S
    overflowed: int = 0
    callbacks: int = 0
    transferred: int = 0
    answered_within_target: int = 0  # wait <= T
    abandoned_within_target: int = 0  # S < wait <= T
    handled: int = 0
    talk_seconds: float = 0.0  # over handled contacts, as AHT needs
    hold_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    ring_no_answer: int = 0
    answered_wait_seconds: float = 0.0  # ASA's numerator
    resolved: int = 0  # answered, and the caller did not call again within the FCR window
    max_wait_seconds: float | None = None  # the one field that is a maximum, not a sum

    def __add__(self, other: ContactSums) -> ContactSums:
        values: dict[str, float | int | None] = {
            name: getattr(self, name) + getattr(other, name) for name in SUM_FIELDS
        }
        waits = [w for w in (self.max_wait_seconds, other.max_wait_seconds) if w is not None]
        values["max_wait_seconds"] = max(waits) if waits else None
        return ContactSums(**values)  # type: ignore[arg-type]


_DEFAULT = Thresholds()
SUM_FIELDS = tuple(f.name for f in fields(ContactSums) if f.name != "max_wait_seconds")


def contact_sums(contact: QueueContact, thresholds: Thresholds = _DEFAULT, repeated: bool = False) -> ContactSums:
    """One contact's share of every sum; ``repeated``: its caller called again within the FCR window."""
    t, s = thresholds.service_seconds, thresholds.short_abandon_seconds
    wait = contact.wait_seconds
    is_answered = contact.outcome is ContactOutcome.ANSWERED
    is_abandoned = contact.outcome is ContactOutcome.ABANDONED
    short = is_abandoned and (wait or 0.0) <= s
    handled = contact.handled
    return ContactSums(
        offered=1,
        answered=int(is_answered),
        abandoned=int(is_abandoned),
        short_abandoned=int(short),
        overflowed=int(contact.outcome is ContactOutcome.OVERFLOWED),
        callbacks=int(contact.outcome is ContactOutcome.CALLBACK),
        transferred=int(is_answered and contact.transferred),
        answered_within_target=int(is_answered and (wait or 0.0) <= t),
        abandoned_within_target=int(is_abandoned and not short and (wait or 0.0) <= t),
        handled=int(handled),
        talk_seconds=(contact.talk_seconds or 0.0) if handled else 0.0,
        hold_seconds=contact.hold_seconds if handled else 0.0,
        wrapup_seconds=contact.wrapup_seconds if handled else 0.0,
        ring_no_answer=contact.ring_no_answer,
        answered_wait_seconds=(wait or 0.0) if is_answered else 0.0,
        resolved=int(is_answered and not repeated),
        max_wait_seconds=wait,
    )


def total(parts: Iterable[ContactSums]) -> ContactSums:
    result = ContactSums()
    for part in parts:
        result = result + part
    return result


@dataclass(frozen=True)
class Kpis:
    """The ratios of GUIDE §3 from sums; None when a denominator is 0."""

    sl_offered: float | None
    sl_answered: float | None
    sl_asterisk2: float | None
    asa_seconds: float | None
    aht_seconds: float | None
    abandonment_rate: float | None
    fcr: float | None


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def kpis(sums: ContactSums) -> Kpis:
    not_short = sums.offered - sums.short_abandoned
    long_abandons = sums.abandoned - sums.short_abandoned
    return Kpis(
        sl_offered=_ratio(sums.answered_within_target, not_short),
        sl_answered=_ratio(sums.answered_within_target, sums.answered),
        sl_asterisk2=_ratio(sums.answered_within_target + sums.abandoned_within_target, sums.answered + long_abandons),
        asa_seconds=_ratio(sums.answered_wait_seconds, sums.answered),
        aht_seconds=_ratio(sums.talk_seconds + sums.hold_seconds + sums.wrapup_seconds, sums.handled),
        abandonment_rate=_ratio(long_abandons, not_short),
        fcr=_ratio(sums.resolved, sums.answered),
    )


def measures_of(sums: ContactSums) -> QueueMeasures:
    """The ``QueueMeasures`` of the contacts these sums add up: what ``measure`` gives over those contacts."""
    ratios = kpis(sums)
    return QueueMeasures(
        offered=sums.offered,
        answered=sums.answered,
        abandoned=sums.abandoned,
        short_abandoned=sums.short_abandoned,
        overflowed=sums.overflowed,
        callbacks=sums.callbacks,
        transferred=sums.transferred,
        answered_within_target=sums.answered_within_target,
        abandoned_within_target=sums.abandoned_within_target,
        handled=sums.handled,
        talk_seconds=sums.talk_seconds,
        hold_seconds=sums.hold_seconds,
        wrapup_seconds=sums.wrapup_seconds,
        ring_no_answer=sums.ring_no_answer,
        sl_offered=ratios.sl_offered,
        sl_answered=ratios.sl_answered,
        sl_asterisk2=ratios.sl_asterisk2,
        asa_seconds=ratios.asa_seconds,
        max_wait_seconds=sums.max_wait_seconds,
        abandonment_rate=ratios.abandonment_rate,
        aht_seconds=ratios.aht_seconds,
    )


@dataclass(frozen=True)
class CallSums:
    """Call-level counts for a line: IVR containment's numerator and denominator."""

    calls: int = 0
    ivr_calls: int = 0
    contained: int = 0

    def __add__(self, other: CallSums) -> CallSums:
        return CallSums(self.calls + other.calls, self.ivr_calls + other.ivr_calls, self.contained + other.contained)

    @property
    def containment(self) -> float | None:
        return _ratio(self.contained, self.ivr_calls)


def call_sums(is_ivr_call: bool, is_contained: bool) -> CallSums:
    return CallSums(1, int(is_ivr_call), int(is_contained))
