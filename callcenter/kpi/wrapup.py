"""Wrap-up attributed to the contact it follows, so AHT includes it (GUIDE §3, §3b).

The call steps do not carry wrap-up; the agents' state history does: when a conversation ends the ACD
puts the agent in ``wrap_up`` (whatever queue the call came from: wrap-up is per agent, across queues)
until its timer or the agent makes them available again. A wrap-up span belongs to the answered contact
of the same agent whose conversation ended within ``tolerance`` of the span's start (the step and the
state change are stamped by different parts of the service, a moment apart). Each span goes to one
contact at most (the nearest); a span with no such contact stays in the agent's time only. A wrap-up
span whose end is not known yet (the agent's next change is not written) counts 0 until it is.

Pure: no I/O, no clock; stdlib only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from callcenter.kpi.contacts import QueueContact
from callcenter.records import AgentEvent

__all__ = ["DEFAULT_TOLERANCE", "WrapUp", "attribute_wrapup", "wrapups_from_events"]

DEFAULT_TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class WrapUp:
    agent: str
    started_at: datetime
    ended_at: datetime | None  # None: the agent's next state change is not known yet

    @property
    def seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds() if self.ended_at is not None else 0.0


def wrapups_from_events(events: Sequence[AgentEvent]) -> list[WrapUp]:
    """The wrap-up spans in agents' histories (any agents, any order), each ended by the agent's next change."""
    by_agent: dict[str, list[AgentEvent]] = {}
    for event in events:
        by_agent.setdefault(event.agent, []).append(event)
    spans = []
    for agent, history in by_agent.items():
        history = sorted(history, key=lambda e: e.at)
        for index, event in enumerate(history):
            if event.state == "wrap_up":
                following = history[index + 1].at if index + 1 < len(history) else None
                spans.append(WrapUp(agent, event.at, following))
    return spans


def attribute_wrapup(
    contacts: Sequence[QueueContact], wrapups: Sequence[WrapUp], tolerance: timedelta = DEFAULT_TOLERANCE
) -> list[QueueContact]:
    """``contacts`` (same order) with ``wrapup_seconds`` set from the wrap-up span that follows each.

    Pairs are taken nearest first, so two calls ending close together each get their own span.
    """
    by_agent: dict[str, list[int]] = {}
    for w_index, span in enumerate(wrapups):
        by_agent.setdefault(span.agent, []).append(w_index)
    candidates: list[tuple[float, int, int]] = []
    for c_index, contact in enumerate(contacts):
        if not contact.agent or contact.ended_at is None:
            continue
        for w_index in by_agent.get(contact.agent, ()):
            span = wrapups[w_index]
            gap = abs((span.started_at - contact.ended_at).total_seconds())
            if gap <= tolerance.total_seconds():
                candidates.append((gap, c_index, w_index))
    result = list(contacts)
    taken_contacts: set[int] = set()
    taken_spans: set[int] = set()
    for _gap, c_index, w_index in sorted(candidates):
        if c_index in taken_contacts or w_index in taken_spans:
            continue
        taken_contacts.add(c_index)
        taken_spans.add(w_index)
        result[c_index] = dataclasses.replace(result[c_index], wrapup_seconds=wrapups[w_index].seconds)
    return result
