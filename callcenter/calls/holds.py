"""Hold, as AMI reports it: an agent's phone puts the caller on hold (re-INVITE sendonly) and takes them
back. Each hold becomes a CallStep under the call's linkedid with its length, for AHT's hold part."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from panoramisk.message import Message

from callcenter.asterisk.ami import event_field
from callcenter.records import CallStep, Record, StepKind

__all__ = ["HoldWatch"]

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Held:
    linkedid: str
    endpoint: str
    since: datetime


class HoldWatch:
    def __init__(self, submit: Callable[[Record], None], node: str, clock: Callable[[], datetime] = _now) -> None:
        self._submit = submit
        self._node = node
        self._clock = clock
        self._held: dict[str, _Held] = {}  # channel uniqueid -> its hold in progress

    def event(self, event: Message) -> None:
        """Feed every AMI event; Hold, Unhold and Hangup matter."""
        name = event_field(event, "Event")
        uniqueid = event_field(event, "Uniqueid")
        if name == "Hold" and uniqueid not in self._held:
            endpoint = event_field(event, "Channel").removeprefix("PJSIP/").rsplit("-", 1)[0]
            self._held[uniqueid] = _Held(event_field(event, "Linkedid") or uniqueid, endpoint, self._clock())
            log.info("%s put call %s on hold", endpoint, self._held[uniqueid].linkedid)
        elif name in ("Unhold", "Hangup") and uniqueid in self._held:
            held = self._held.pop(uniqueid)
            now = self._clock()
            seconds = (now - held.since).total_seconds()
            self._submit(
                CallStep(self._node, held.linkedid, held.since, StepKind.HOLD, agent=held.endpoint, seconds=seconds)
            )
            log.info("%s took call %s off hold after %.1f s", held.endpoint, held.linkedid, seconds)
