"""Call-level outcomes: first-contact resolution (proxy) and IVR containment (GUIDE §3).

**FCR (proxy).** A call is *repeated* when the same caller number calls again (any line, any outcome)
later than it started and at most ``window`` (default 24 h) after. An answered contact counts as resolved
when its call is not repeated; FCR = resolved ÷ answered. A call with no caller number (withheld) cannot
be matched, so it is never repeated: an empty number, and what carriers and Asterisk put there when there is
none (``unknown``, ``anonymous``, ``restricted``, any text that is not digits), are no number
(``identifies_caller``); otherwise every withheld caller would be one caller calling all day. A call still
inside its window may become repeated later: whoever keeps figures must look at it again when a repeat
arrives (the rollups do: a new call marks the earlier calls of the same number within the window).

**IVR containment.** An *IVR call* is one whose caller met at least one menu (its IVR path is not empty)
and which was not turned away before any self-service could start (outcomes ``closed``, ``refused`` and
``failed`` are not IVR calls: out of hours, blacklisted, or our fault). It is *contained* when it ended in
self-service: outcome ``completed`` (a message played, a hang-up the dialplan defines) without ever
reaching a queue. A caller hanging up in the menus (``abandoned``), running out of retries
(``no_valid_input``), or sent to a queue, a number or a mailbox was not served by the IVR alone.
Containment = contained ÷ IVR calls.

Pure: no I/O, no clock; stdlib and ``callcenter.records`` only.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from callcenter.records import Outcome

__all__ = [
    "CALLER_NUMBER_PATTERN",
    "FCR_WINDOW",
    "CallOrigin",
    "contained",
    "identifies_caller",
    "ivr_call",
    "repeated_calls",
]

FCR_WINDOW = timedelta(hours=24)
# A caller number that identifies someone: digits, at least three, an optional leading '+'. The same rule is
# written for PostgreSQL (a POSIX regular expression) where the rollups match repeat calls in SQL.
CALLER_NUMBER_PATTERN = r"^\+?[0-9]{3,}$"
_CALLER_NUMBER = re.compile(r"\+?[0-9]{3,}")
K = TypeVar("K", bound=Hashable)

_NOT_IVR = frozenset({Outcome.CLOSED, Outcome.REFUSED, Outcome.FAILED})


@dataclass(frozen=True)
class CallOrigin(Generic[K]):
    """Who called when: what the FCR proxy compares. ``key`` identifies the call, e.g. (node, linkedid)."""

    key: K
    caller: str
    started_at: datetime


def identifies_caller(number: str) -> bool:
    """Whether FCR can match calls on this caller number (withheld, ``unknown`` or ``anonymous`` cannot)."""
    return _CALLER_NUMBER.fullmatch(number) is not None


def repeated_calls(calls: Iterable[CallOrigin[K]], window: timedelta = FCR_WINDOW) -> set[K]:
    """The keys of the calls followed by another call from the same number within ``window`` (0 < gap <= window)."""
    by_caller: dict[str, list[CallOrigin[K]]] = {}
    for call in calls:
        if identifies_caller(call.caller):
            by_caller.setdefault(call.caller, []).append(call)
    repeated: set[K] = set()
    for history in by_caller.values():
        history.sort(key=lambda c: c.started_at)
        for index, call in enumerate(history):
            for later in history[index + 1 :]:
                gap = later.started_at - call.started_at
                if gap > window:
                    break
                if gap > timedelta(0):
                    repeated.add(call.key)
                    break
    return repeated


def ivr_call(outcome: Outcome, ivr_path_length: int) -> bool:
    """A call that met the IVR's menus and was not turned away before self-service could start."""
    return ivr_path_length > 0 and outcome not in _NOT_IVR


def contained(outcome: Outcome, ivr_path_length: int, reached_queue: bool) -> bool:
    """An IVR call served by self-service alone."""
    return ivr_call(outcome, ivr_path_length) and outcome is Outcome.COMPLETED and not reached_queue
