"""callcenter.recordings.purge: which recordings expire at a given time (pure), and which stored paths are safe.

A recording expires ``retention_days`` after it started: the current policy of its queue when that queue
has one, else the days stored with it. Legal hold keeps it; a purged one is never chosen again.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from callcenter.dialplan.model import Dialplan
from callcenter.recordings.purge import (
    UnsafePathError,
    expired,
    expiry,
    policy_retention,
    recording_file,
    retention_days,
)
from callcenter.records import Recording
from callcenter.store.recording_queries import StoredRecording

STARTED = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
TICK = timedelta(microseconds=1)
MOSCOW = timezone(timedelta(hours=3))


def row(
    recording_id: str = "r1",
    *,
    queue: str = "support",
    stored_days: int = 90,
    started_at: datetime = STARTED,
    legal_hold: bool = False,
    purged_at: datetime | None = None,
) -> StoredRecording:
    recording = Recording(
        node="pbx-1",
        recording_id=recording_id,
        linkedid="1767000000.1",
        agent="1001",
        queue=queue,
        started_at=started_at,
        seconds=42.0,
        size=1000,
        sha256="0" * 64,
        path=f"2026/01/10/{recording_id}.wav",
        format="wav",
        reason="always",
        retention_days=stored_days,
    )
    return StoredRecording(1, recording, legal_hold, purged_at)


def ids(rows: list[StoredRecording]) -> list[str]:
    return [r.recording.recording_id for r in rows]


# --- the decision ---------------------------------------------------------------------------------------------


def test_a_recording_expires_exactly_its_stored_retention_after_it_started() -> None:
    recording = row(stored_days=30)
    boundary = STARTED + timedelta(days=30)
    assert expired([recording], {}, boundary - TICK) == []
    assert expired([recording], {}, boundary) == [recording]
    assert expired([recording], {}, boundary + timedelta(days=400)) == [recording]


def test_the_current_queue_policy_wins_over_a_longer_stored_retention() -> None:
    # An admin shortened the queue's retention from 90 to 30 days: recordings older than 30 days go.
    recording = row(stored_days=90)
    boundary = STARTED + timedelta(days=30)
    assert expired([recording], {"support": 30}, boundary - TICK) == []
    assert expired([recording], {"support": 30}, boundary) == [recording]


def test_the_current_queue_policy_wins_over_a_shorter_stored_retention() -> None:
    # Lengthened from 10 to 60 days: what was made under 10 days is kept 60 days too.
    recording = row(stored_days=10)
    assert expired([recording], {"support": 60}, STARTED + timedelta(days=10)) == []
    assert expired([recording], {"support": 60}, STARTED + timedelta(days=60) - TICK) == []
    assert expired([recording], {"support": 60}, STARTED + timedelta(days=60)) == [recording]


def test_a_queue_without_a_policy_now_keeps_the_stored_retention() -> None:
    recording = row(queue="orders", stored_days=45)
    policies = {"support": 1}  # another queue's policy changes nothing for this one
    assert retention_days(recording, policies) == 45
    assert expired([recording], policies, STARTED + timedelta(days=45) - TICK) == []
    assert expired([recording], policies, STARTED + timedelta(days=45)) == [recording]


def test_a_recording_of_no_queue_keeps_the_stored_retention() -> None:
    recording = row(queue="", stored_days=7)
    assert expired([recording], {"support": 1}, STARTED + timedelta(days=7)) == [recording]


def test_a_recording_on_legal_hold_never_expires() -> None:
    held = row(stored_days=1, legal_hold=True)
    assert expiry(held, {"support": 1}) is None
    assert expired([held], {"support": 1}, STARTED + timedelta(days=3650)) == []


def test_a_purged_recording_is_never_chosen_again() -> None:
    gone = row(stored_days=1, purged_at=STARTED + timedelta(days=2))
    assert expiry(gone, {}) is None
    assert expired([gone], {}, STARTED + timedelta(days=3650)) == []


def test_only_the_expired_unheld_recordings_are_chosen_in_the_order_given() -> None:
    rows = [
        row("old", stored_days=30),
        row("young", stored_days=30, started_at=STARTED + timedelta(days=20)),
        row("held", stored_days=30, legal_hold=True),
        row("shortened", queue="sales", stored_days=90),
        row("purged", stored_days=30, purged_at=STARTED + timedelta(days=31)),
    ]
    assert ids(expired(rows, {"sales": 14}, STARTED + timedelta(days=31))) == ["old", "shortened"]


def test_the_boundary_is_the_same_instant_in_any_time_zone() -> None:
    recording = row(stored_days=30)
    boundary_in_moscow = (STARTED + timedelta(days=30)).astimezone(MOSCOW)
    assert expired([recording], {}, boundary_in_moscow) == [recording]
    assert expired([recording], {}, boundary_in_moscow - TICK) == []


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        expired([row()], {}, datetime(2027, 1, 1))


def test_the_policies_in_force_are_the_queues_with_a_recording_policy() -> None:
    data: dict[str, Any] = {
        "numbers": {"+78005553535": {"name": "Line", "menu": "main", "recording": {"mode": "always"}}},
        "menus": {"main": {"greeting": ["hello"], "options": {"1": {"action": "queue", "queue": "sales"}}}},
        "queues": {
            "sales": {"name": "Sales", "recording": {"mode": "sampled", "percent": 10, "retention_days": 14}},
            "support": {"name": "Support", "recording": {"mode": "never"}},
            "orders": {"name": "Orders"},
        },
    }
    # The number's policy is not a queue's: its recordings keep their stored days.
    assert policy_retention(Dialplan.model_validate(data)) == {"sales": 14, "support": 90}


# --- stored paths ---------------------------------------------------------------------------------------------


def test_a_stored_path_resolves_inside_the_recordings_directory(tmp_path: Path) -> None:
    assert recording_file(tmp_path, "2026/01/10/r1.wav") == tmp_path.resolve() / "2026/01/10/r1.wav"


@pytest.mark.parametrize("stored", ["", ".", "../secrets.json", "2026/../../secrets.json", "/etc/passwd"])
def test_a_stored_path_leading_out_of_the_directory_is_refused(tmp_path: Path, stored: str) -> None:
    with pytest.raises(UnsafePathError):
        recording_file(tmp_path / "recordings", stored)


def test_a_symbolic_link_leading_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    (recordings / "2026").mkdir(parents=True)
    (tmp_path / "secret.wav").write_bytes(b"not yours")
    os.symlink(tmp_path / "secret.wav", recordings / "2026" / "link.wav")
    os.symlink(tmp_path, recordings / "up")
    with pytest.raises(UnsafePathError):
        recording_file(recordings, "2026/link.wav")
    with pytest.raises(UnsafePathError):
        recording_file(recordings, "up/secret.wav")
