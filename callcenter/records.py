"""The call-detail record: one per call, keyed by the Asterisk node and the call's linkedid."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "AgentEvent",
    "AuditEntry",
    "CallRecord",
    "CallStep",
    "CallUpdate",
    "Callback",
    "CallbackStatus",
    "IvrStep",
    "MonitorSession",
    "Outcome",
    "Record",
    "Recording",
    "StepKind",
    "record_from_json",
]


# The outcome_reason of a call's row written while the call goes on (queued, the end a placeholder): the
# final record replaces it; a service killed meanwhile leaves it for the restarted one to amend.
IN_PROGRESS = "in_progress"


class Outcome(StrEnum):
    COMPLETED = "completed"  # served by the IVR alone: a message, a hang-up the dialplan defines
    QUEUED = "queued"  # handed to a queue (and still there when the record was written)
    ANSWERED = "answered"  # connected to an agent from a queue
    OVERFLOWED = "overflowed"  # left a queue by its overflow rule (max wait, full, nobody logged in)
    TRANSFERRED = "transferred"  # handed to another number
    VOICEMAIL = "voicemail"  # left in a mailbox
    CALLBACK = "callback"  # left a queue asking to be called back (the callback's own steps follow the call)
    CLOSED = "closed"  # out of hours: told so
    NO_VALID_INPUT = "no_valid_input"  # retries ran out on timeouts or invalid keys
    ABANDONED = "abandoned"  # the caller hung up before an end was reached
    REFUSED = "refused"  # the call was not answered (unknown number, blacklist, ...)
    FAILED = "failed"  # our fault or Asterisk's; the caller was sent to the fallback


@dataclass(frozen=True)
class IvrStep:
    menu: str
    key: str | None  # None: the caller pressed nothing before the timeout


@dataclass(frozen=True)
class CallRecord:
    node: str  # the Asterisk system name: a linkedid is unique per node only
    linkedid: str
    uniqueid: str
    dialled_raw: str
    dialled_number: str | None  # normalized (E.164); None when the dialled text is not a number
    caller_number: str
    caller_name: str
    started_at: datetime
    ended_at: datetime
    outcome: Outcome
    outcome_reason: str = ""
    answered_at: datetime | None = None
    language: str = ""
    ivr_path: tuple[IvrStep, ...] = field(default=())
    inputs: dict[str, str] = field(default_factory=dict)  # digits typed for the dialplan's inputs, by name
    destination: str = ""  # where the IVR handed the call: queue:NAME, number:+7..., voicemail:NAME
    queue: str = ""  # the queue the call waited in last
    agent: str = ""  # the agent who answered it
    queued_at: datetime | None = None
    connected_at: datetime | None = None

    @property
    def digits(self) -> str:
        """The keys pressed, in order, as one string."""
        return "".join(step.key for step in self.ivr_path if step.key)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["outcome"] = str(self.outcome)
        data["ivr_path"] = [asdict(step) for step in self.ivr_path]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallRecord:
        values = dict(data)
        for key in ("started_at", "ended_at", "answered_at", "queued_at", "connected_at"):
            if values.get(key) is not None:
                values[key] = datetime.fromisoformat(values[key])
        values["outcome"] = Outcome(values["outcome"])
        values["ivr_path"] = tuple(IvrStep(**step) for step in values.get("ivr_path", ()))
        return cls(**values)


@dataclass(frozen=True)
class AgentEvent:
    """An agent's state changed: the history behind occupancy, pause time by reason, and restarts."""

    node: str
    agent: str
    state: str  # an AgentState value
    reason: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "agent",
            "node": self.node,
            "agent": self.agent,
            "state": self.state,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentEvent:
        return cls(data["node"], data["agent"], data["state"], data["reason"], datetime.fromisoformat(data["at"]))


class StepKind(StrEnum):
    QUEUED = "queued"  # entered a queue; position = place in line on entry
    OFFERED = "offered"  # an agent's phone rang; seconds = ring time, result = answered/no_answer/busy/...
    CONNECTED = "connected"  # an agent answered; seconds = the wait in this queue
    HOLD = "hold"  # the agent put the caller on hold; seconds = how long
    TRANSFERRED = "transferred"  # the agent transferred the call; detail = kind and target
    ENDED = "ended"  # the conversation with the agent ended; seconds = talk time
    ABANDONED = "abandoned"  # the caller hung up while waiting; seconds = the wait
    OVERFLOWED = "overflowed"  # left by the queue's overflow rule; result = why, detail = where to
    CALLBACK_REQUESTED = "callback_requested"  # the caller asked to be called back; seconds = the wait so far
    CALLBACK_DIALLED = "callback_dialled"  # an agent took the callback; result = answered/no_answer/...


@dataclass(frozen=True)
class CallStep:
    """One step of a call in the queues: the history behind service level, ASA, AHT and per-offer figures.

    Steps hang off the call's (node, linkedid), which a transfer keeps, so a call's steps stay together.
    """

    node: str
    linkedid: str
    at: datetime
    kind: StepKind
    queue: str = ""
    agent: str = ""
    position: int | None = None
    seconds: float | None = None
    result: str = ""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"], data["step"] = "step", str(self.kind)
        data["at"] = self.at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallStep:
        values = {key: value for key, value in data.items() if key not in ("kind", "step")}
        return cls(**{**values, "at": datetime.fromisoformat(data["at"]), "kind": StepKind(data["step"])})


class CallbackStatus(StrEnum):
    PENDING = "pending"  # waiting for an agent, in the caller's place in line
    DIALLING = "dialling"  # an agent took it; the system is calling the caller
    DONE = "done"  # the caller and the agent talked
    FAILED = "failed"  # the caller could not be reached (attempts used up)


@dataclass(frozen=True)
class Callback:
    """A promise to call a caller back: every change of it is written, and the pending ones survive restarts."""

    node: str
    callback_id: str  # the linkedid of the call that asked for it
    number: str  # the caller's number, E.164
    queue: str
    priority: int
    waiting_since: datetime  # the place in line: when the caller began to wait
    status: CallbackStatus
    attempts: int
    updated_at: datetime
    agent: str = ""
    line: str = ""  # the number the caller had dialled: the callback comes from it

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = "callback"
        data["status"] = str(self.status)
        for key in ("waiting_since", "updated_at"):
            data[key] = getattr(self, key).isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Callback:
        values = {key: value for key, value in data.items() if key != "kind"}
        for key in ("waiting_since", "updated_at"):
            values[key] = datetime.fromisoformat(values[key])
        values["status"] = CallbackStatus(values["status"])
        return cls(**values)


@dataclass(frozen=True)
class CallUpdate:
    """What a restarted service learns of a call the stopped one recorded: its end, how it went.

    Fields left None keep what the record holds. Applied after the record, in the order written.
    """

    node: str
    linkedid: str
    ended_at: datetime | None = None
    outcome: Outcome | None = None
    outcome_reason: str | None = None
    queue: str | None = None
    agent: str | None = None
    connected_at: datetime | None = None
    destination: str | None = None

    def changes(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in _UPDATABLE}
        values["outcome"] = str(self.outcome) if self.outcome is not None else None
        return {name: value for name, value in values.items() if value is not None}

    def to_json(self) -> dict[str, Any]:
        data = {name: value for name, value in asdict(self).items()}
        data["kind"] = "update"
        for key in ("ended_at", "connected_at"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        data["outcome"] = str(self.outcome) if self.outcome is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallUpdate:
        values = {key: value for key, value in data.items() if key != "kind"}
        for key in ("ended_at", "connected_at"):
            values[key] = datetime.fromisoformat(values[key]) if values.get(key) is not None else None
        values["outcome"] = Outcome(values["outcome"]) if values.get("outcome") is not None else None
        return cls(**values)


@dataclass(frozen=True)
class Recording:
    """A finished recording of one agent's part of a call: a stereo file (left the caller, right the agent).

    A call transferred from agent to agent has one recording per part, all under the call's linkedid.
    ``pauses`` are the spans (seconds from the start of the file) muted while the caller read card data.
    """

    node: str
    recording_id: str
    linkedid: str
    agent: str
    queue: str
    started_at: datetime
    seconds: float
    size: int  # bytes
    sha256: str
    path: str  # relative to the recordings directory: YYYY/MM/DD/<recording_id>.<format>
    format: str
    reason: str  # why it was recorded: always, sampled, on_demand
    retention_days: int
    pauses: tuple[tuple[float, float], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = "recording"
        data["started_at"] = self.started_at.isoformat()
        data["pauses"] = [list(span) for span in self.pauses]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recording:
        values = {key: value for key, value in data.items() if key != "kind"}
        values["started_at"] = datetime.fromisoformat(values["started_at"])
        values["pauses"] = tuple((float(start), float(end)) for start, end in values.get("pauses", ()))
        return cls(**values)


@dataclass(frozen=True)
class MonitorSession:
    """A supervisor listening to an agent: written when it starts, at every change of mode, and at its end.

    ``modes`` lists (mode, since) in order: listen, whisper (only the agent hears the supervisor) or
    barge (both do); ``calls`` the linkedids of the agent's calls the supervisor heard.
    """

    node: str
    session_id: str
    supervisor: str
    agent: str
    via: str  # phone (a feature code) or api
    started_at: datetime
    updated_at: datetime
    modes: tuple[tuple[str, datetime], ...] = ()
    calls: tuple[str, ...] = ()
    ended_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = "monitor"
        for key in ("started_at", "updated_at", "ended_at"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value is not None else None
        data["modes"] = [[mode, since.isoformat()] for mode, since in self.modes]
        data["calls"] = list(self.calls)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MonitorSession:
        values = {key: value for key, value in data.items() if key != "kind"}
        for key in ("started_at", "updated_at", "ended_at"):
            values[key] = datetime.fromisoformat(values[key]) if values.get(key) is not None else None
        values["modes"] = tuple((mode, datetime.fromisoformat(since)) for mode, since in values.get("modes", ()))
        values["calls"] = tuple(values.get("calls", ()))
        return cls(**values)


@dataclass(frozen=True)
class AuditEntry:
    """Who did (or was refused) what to whom: recordings fetched, monitoring started or refused."""

    node: str
    at: datetime
    actor: str  # a supervisor's extension, or api:<who> for the HTTP API
    action: str  # e.g. recording.download, monitor.start
    target: str  # e.g. a recording id, an agent's extension
    allowed: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = "audit"
        data["at"] = self.at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditEntry:
        values = {key: value for key, value in data.items() if key != "kind"}
        values["at"] = datetime.fromisoformat(values["at"])
        return cls(**values)


_UPDATABLE = ("ended_at", "outcome", "outcome_reason", "queue", "agent", "connected_at", "destination")

Record = CallRecord | AgentEvent | CallStep | Callback | CallUpdate | Recording | MonitorSession | AuditEntry


def record_from_json(data: dict[str, Any]) -> Record:
    """A spooled record of any kind (lines written before kinds existed are call records)."""
    kind = data.get("kind")
    if kind == "agent":
        return AgentEvent.from_json(data)
    if kind == "step":
        return CallStep.from_json(data)
    if kind == "callback":
        return Callback.from_json(data)
    if kind == "update":
        return CallUpdate.from_json(data)
    if kind == "recording":
        return Recording.from_json(data)
    if kind == "monitor":
        return MonitorSession.from_json(data)
    if kind == "audit":
        return AuditEntry.from_json(data)
    return CallRecord.from_json({key: value for key, value in data.items() if key != "kind"})
