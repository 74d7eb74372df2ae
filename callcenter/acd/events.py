"""What the ACD is told (events, past tense) and what it asks for (commands, imperative).

Every event carries its time ``at`` (seconds on the shell's monotonic clock):
the core never reads a clock, so it is replayed and tested without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentPaused",
    "AgentProfile",
    "AgentState",
    "AgentStateChanged",
    "AgentUnpaused",
    "CallResumed",
    "CancelOffer",
    "Command",
    "ContactAbandoned",
    "ContactArrived",
    "ContactEnded",
    "ContactKind",
    "Event",
    "Offer",
    "OfferAnswered",
    "OfferFailed",
    "Overflow",
    "QueueRules",
    "RulesChanged",
    "TimerFired",
]


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


class ContactKind(StrEnum):
    CALL = "call"  # a caller on the line, waiting
    CALLBACK = "callback"  # a caller who hung up to be called back: keeps the place, never overflows


# --- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactArrived:
    """A contact (an inbound call, a callback; a campaign call later) entered a queue.

    ``since`` is when the contact began to wait when that was before ``at``: a callback requested
    by a waiting caller, or contacts taken back after a restart, keep their place in line by it.
    """

    at: float
    contact: str
    queue: str
    priority: int = 0  # higher first: VIPs
    since: float | None = None
    kind: ContactKind = ContactKind.CALL


@dataclass(frozen=True, slots=True)
class ContactAbandoned:
    """The caller hung up while waiting (or while an agent's phone rang)."""

    at: float
    contact: str


@dataclass(frozen=True, slots=True)
class AgentLoggedIn:
    at: float
    agent: str


@dataclass(frozen=True, slots=True)
class AgentLoggedOut:
    at: float
    agent: str


@dataclass(frozen=True, slots=True)
class AgentPaused:
    at: float
    agent: str
    reason: str


@dataclass(frozen=True, slots=True)
class AgentUnpaused:
    at: float
    agent: str


@dataclass(frozen=True, slots=True)
class OfferAnswered:
    at: float
    contact: str
    agent: str


@dataclass(frozen=True, slots=True)
class OfferFailed:
    """The agent's phone did not take the offer: no answer (the shell's ring timed out), busy, unreachable."""

    at: float
    contact: str
    agent: str
    reason: str  # "no_answer", "busy", "unreachable", "rejected"


@dataclass(frozen=True, slots=True)
class ContactEnded:
    """The agent's call with the contact ended (either side hung up, or it was transferred away)."""

    at: float
    contact: str
    agent: str


@dataclass(frozen=True, slots=True)
class CallResumed:
    """After a restart of the service: Asterisk says this contact is still talking with this agent."""

    at: float
    contact: str
    queue: str
    agent: str


@dataclass(frozen=True, slots=True)
class QueueRules:
    name: str
    strategy: str = "longest_idle"
    skills: Mapping[str, int] = field(default_factory=dict)
    wrap_up: float = 10.0
    max_wait: float = 600.0
    max_length: int | None = None
    ring_timeout: float = 15.0
    relax_after: float | None = None


@dataclass(frozen=True, slots=True)
class AgentProfile:
    agent: str
    queues: tuple[str, ...]
    skills: Mapping[str, int] = field(default_factory=dict)
    order: int = 0  # for the linear strategy
    no_answer_limit: int = 3  # missed offers in a row before the agent is paused with reason "no_answer"


@dataclass(frozen=True, slots=True)
class RulesChanged:
    """The dialplan was reloaded: these are now the queues and agents.

    Agents keep their state and contacts their place; a queue that is gone overflows its waiting
    contacts (reason "queue_removed"); an agent who is gone is logged out (after the call in progress).
    """

    at: float
    queues: tuple[QueueRules, ...]
    agents: tuple[AgentProfile, ...]


@dataclass(frozen=True, slots=True)
class TimerFired:
    """The time ``next_deadline()`` named has come."""

    at: float


Event = (
    ContactArrived
    | ContactAbandoned
    | AgentLoggedIn
    | AgentLoggedOut
    | AgentPaused
    | AgentUnpaused
    | OfferAnswered
    | OfferFailed
    | ContactEnded
    | CallResumed
    | RulesChanged
    | TimerFired
)

# --- commands -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring these agents (one, or all of them for ring-all) with the contact, for ``timeout`` seconds."""

    contact: str
    queue: str
    agents: tuple[str, ...]
    timeout: float


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing this agent (another one answered a ring-all offer, or the caller hung up)."""

    contact: str
    agent: str


@dataclass(frozen=True, slots=True)
class Overflow:
    """Take the contact out of the queue and do the queue's overflow action."""

    contact: str
    queue: str
    reason: str  # "max_wait", "max_length", "no_agents", "queue_removed"


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """For records, presence lamps and the wallboard."""

    at: float
    agent: str
    state: AgentState
    reason: str = ""


Command = Offer | CancelOffer | Overflow | AgentStateChanged
