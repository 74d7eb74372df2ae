"""What the ACD is told (events, past tense) and what it asks for (commands, imperative).

Every event carries its time ``at`` (seconds on the shell's monotonic clock):
the core never reads a clock, so it is replayed and tested without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentPaused",
    "AgentState",
    "AgentStateChanged",
    "AgentUnpaused",
    "CancelOffer",
    "Command",
    "ContactAbandoned",
    "ContactArrived",
    "ContactEnded",
    "Event",
    "Offer",
    "OfferAnswered",
    "OfferFailed",
    "Overflow",
    "TimerFired",
]


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


# --- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactArrived:
    """A contact (an inbound call now; a callback or campaign call later) entered a queue."""

    at: float
    contact: str
    queue: str
    priority: int = 0  # higher first: VIPs


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
    reason: str  # "max_wait", "max_length", "no_agents"


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """For records, presence lamps and the wallboard."""

    at: float
    agent: str
    state: AgentState
    reason: str = ""


Command = Offer | CancelOffer | Overflow | AgentStateChanged
