"""Which calls are recorded, where their files go, and when they expire. Pure: no I/O, no clock.

A call's policy is its queue's, or else the policy of the number the caller dialled, or else none
(never recorded). ``sampled`` picks calls by a hash of the call's id, not by chance: the same call
gets the same answer in every part (a transfer, a requeue after a restart), and tests can know it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Literal

from callcenter.config import RECORDING_FORMATS
from callcenter.dialplan.model import Dialplan, RecordingPolicy

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "FORMATS",
    "RecordingPlan",
    "expires_at",
    "plan_for",
    "policy_for",
    "sampled",
    "storage_path",
]

FORMATS = RECORDING_FORMATS
DEFAULT_RETENTION_DAYS = 90  # for a recording whose queue no longer has a policy


@dataclass(frozen=True)
class RecordingPlan:
    """What to do about recording one agent's part of a call."""

    record: Literal["always", "sampled"] | None  # start when the agent answers, and why; None: not at once
    on_demand: bool  # the agent (feature code) or the API may start and stop it
    retention_days: int

    @property
    def may_record(self) -> bool:
        return self.record is not None or self.on_demand


_NOT_RECORDED = RecordingPlan(None, False, DEFAULT_RETENTION_DAYS)


def policy_for(dialplan: Dialplan, queue: str, line: str | None) -> RecordingPolicy | None:
    """The policy for a call of ``queue`` made to ``line`` (the dialled number, E.164, if known)."""
    rules = dialplan.queues.get(queue)
    if rules is not None and rules.recording is not None:
        return rules.recording
    number = dialplan.numbers.get(line) if line else None
    return number.recording if number is not None else None


def sampled(linkedid: str, percent: int) -> bool:
    """Whether the call ``linkedid`` falls in the sampled ``percent``: stable for the call, even over calls."""
    bucket = int.from_bytes(hashlib.sha256(linkedid.encode()).digest()[:8], "big") % 10_000
    return bucket < percent * 100


def plan_for(policy: RecordingPolicy | None, linkedid: str) -> RecordingPlan:
    if policy is None or policy.mode == "never":
        return _NOT_RECORDED
    if policy.mode == "always":
        return RecordingPlan("always", False, policy.retention_days)
    if policy.mode == "sampled":
        assert policy.percent is not None  # the model requires it
        chosen = sampled(linkedid, policy.percent)
        return RecordingPlan("sampled" if chosen else None, False, policy.retention_days)
    return RecordingPlan(None, True, policy.retention_days)


def storage_path(started_at: datetime, recording_id: str, file_format: str) -> PurePosixPath:
    """Where a finished recording is kept under the recordings directory: by the day it was made (UTC)."""
    day = started_at.strftime("%Y/%m/%d")
    return PurePosixPath(day) / f"{recording_id}.{file_format}"


def expires_at(started_at: datetime, retention_days: int) -> datetime:
    return started_at + timedelta(days=retention_days)
