"""callcenter.calls.recordings: from AMI's word and MixMonitor's raw file to the stored stereo file and its record.

No Asterisk here (tests/e2e/test_recording.py has it): the raw files are what MixMonitor's D option writes
(interleaved 8 kHz 16-bit, from the agent then to the agent), made with sox; AMI events are panoramisk
Messages as the client hands them over; AMI actions go to a stub that keeps them. The conversion, the
checksum and the tones in each channel are real (sox).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest
from panoramisk.message import Message

from callcenter.calls.recordings import RecordingActionError, RecordingDesk
from callcenter.dialplan.model import Dialplan
from callcenter.records import Recording
from tests.e2e.audio import TONE_THRESHOLD, tone_level

LINE = "+78005553535"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AGENT_HZ, CALLER_HZ = 1000, 500


def _dialplan(mode: str) -> Dialplan:
    return Dialplan.checked(
        {
            "numbers": {LINE: {"name": "Line", "menu": "main"}},
            "menus": {"main": {"greeting": ["hello"], "options": {"1": {"action": "queue", "queue": "support"}}}},
            "queues": {"support": {"name": "Support", "recording": {"mode": mode, "retention_days": 30}}},
            "agents": [{"extension": "1001", "name": "Ann", "queues": ["support"]}],
        }
    )


class Desk:
    def __init__(self, tmp_path: Path, mode: str = "always") -> None:
        self.incoming = tmp_path / "incoming"
        self.stored = tmp_path / "recordings"
        self.records: list[Recording] = []
        self.actions: list[dict[str, str]] = []
        dialplan = _dialplan(mode)

        async def act(action: dict[str, str]) -> Message:
            self.actions.append(action)
            return Message({"Response": "Success"})

        self.desk = RecordingDesk(
            lambda: dialplan,
            act,
            self.records.append,
            "node1",
            self.incoming,
            PurePosixPath("/srv/callcenter/run/recordings"),
            self.stored,
            "wav",
            clock=lambda: NOW,
        )

    def answered(self, linkedid: str = "node1-1.1") -> str:
        """An offer planned, the agent answering it (DialEnd), MixMonitor started by [cc-answered]."""
        recording = self.desk.plan_offer("1.1", linkedid, "support", LINE)
        events = [
            {"Event": "DialEnd", "DialStatus": "ANSWER", "Uniqueid": "1.1", "DestChannel": "PJSIP/1001-0001",
             "DestUniqueid": "1.2"},
            {"Event": "UserEvent", "UserEvent": "CcRecordingStarted", "Channel": "PJSIP/1001-0001",
             "Uniqueid": "1.2", "Recording": recording},
        ]  # fmt: skip
        for event in events:
            self.desk.event(Message(event))
        return recording

    def hang_up(self) -> None:
        self.desk.event(Message({"Event": "Hangup", "Channel": "PJSIP/1001-0001", "Uniqueid": "1.2"}))


def _raw(path: Path, seconds: float) -> None:
    """What MixMonitor writes with D: channel 1 from the agent (1000 Hz), channel 2 to the agent (500 Hz)."""
    command = ["sox", "-n", "-r", "8000", "-c", "2", "-b", "16", "-e", "signed-integer", "-t", "raw", str(path),
               "synth", str(seconds), "sine", str(AGENT_HZ), "sine", str(CALLER_HZ), "vol", "0.25"]  # fmt: skip
    subprocess.run(command, check=True)


def _closed(desk: Desk, recording: str, seconds: float) -> None:
    """Asterisk closed the file: the raw audio and MixMonitor's command's marker."""
    _raw(desk.incoming / f"{recording}.raw", seconds)
    (desk.incoming / f"{recording}.done").touch()


def _channel(path: Path, channel: int, start: float, end: float) -> bytes:
    command = ["sox", str(path), "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-",
               "trim", str(start), f"={end}", "remix", str(channel)]  # fmt: skip
    return subprocess.run(command, capture_output=True, check=True).stdout


async def test_a_closed_recording_becomes_a_stereo_file_by_day_with_the_caller_left_and_the_agent_right(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path)
    recording = desk.answered()
    assert recording.startswith("node1-1.1-")
    desk.hang_up()
    _closed(desk, recording, 3.0)

    assert await desk.desk.finish_closed() == 1
    [stored] = desk.records
    path = desk.stored / stored.path
    assert stored.path == f"2026/11/24/{recording}.wav"
    assert (stored.linkedid, stored.agent, stored.queue, stored.reason, stored.retention_days) == (
        "node1-1.1",
        "1001",
        "support",
        "always",
        30,
    )
    assert stored.seconds == pytest.approx(3.0, abs=0.01) and stored.started_at == NOW
    assert stored.size == path.stat().st_size and stored.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    left, right = _channel(path, 1, 0.2, 2.8), _channel(path, 2, 0.2, 2.8)
    assert tone_level(left, CALLER_HZ, tmp_path / "l") >= TONE_THRESHOLD > tone_level(left, AGENT_HZ, tmp_path / "l")
    assert tone_level(right, AGENT_HZ, tmp_path / "r") >= TONE_THRESHOLD > tone_level(right, CALLER_HZ, tmp_path / "r")
    assert list(desk.incoming.iterdir()) == []  # raw, sidecar and marker gone once the record is submitted
    assert await desk.desk.finish_closed() == 0


async def test_a_pause_and_its_resume_are_muted_over_ami_and_the_span_kept_with_the_recording(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    recording = desk.answered()
    await desk.desk.pause("1001")
    with pytest.raises(RecordingActionError, match="paused already"):
        await desk.desk.pause("1001")
    await desk.desk.resume("1001")
    assert [(action["Action"], action["State"]) for action in desk.actions] == [
        ("MixMonitorMute", "1"),
        ("MixMonitorMute", "0"),
    ]
    assert all(action["Channel"] == "PJSIP/1001-0001" for action in desk.actions)
    await desk.desk.pause("1001")  # still paused when the call ends: the pause runs to the end of the file
    desk.hang_up()
    _closed(desk, recording, 2.0)
    await desk.desk.finish_closed()
    [stored] = desk.records
    assert len(stored.pauses) == 2 and stored.pauses[1][1] <= stored.seconds


async def test_a_policy_recording_cannot_be_stopped_and_on_demand_starts_and_stops_over_ami(tmp_path: Path) -> None:
    always = Desk(tmp_path / "always")
    always.answered()
    with pytest.raises(RecordingActionError) as refused:
        await always.desk.stop("1001")
    assert refused.value.reason == "not_allowed"

    on_demand = Desk(tmp_path / "on_demand", mode="on_demand")
    assert on_demand.desk.plan_offer("1.1", "node1-1.1", "support", LINE) == ""  # nothing at the answer
    on_demand.desk.event(
        Message({"Event": "DialEnd", "DialStatus": "ANSWER", "Uniqueid": "1.1", "DestChannel": "PJSIP/1001-0001"})
    )
    assert on_demand.desk.state("1001") == {
        "agent": "1001",
        "linkedid": "node1-1.1",
        "queue": "support",
        "recording": None,
        "reason": None,
        "paused": False,
        "on_demand": True,
    }
    recording = await on_demand.desk.start("1001")
    start = on_demand.actions[-1]
    assert (start["Action"], start["Options"], start["File"]) == (
        "MixMonitor",
        "bD",
        f"/srv/callcenter/run/recordings/{recording}.raw",
    )
    assert start["Command"] == f"/bin/touch /srv/callcenter/run/recordings/{recording}.done"
    assert json.loads((on_demand.incoming / f"{recording}.json").read_text())["reason"] == "on_demand"
    assert await on_demand.desk.stop("1001") == recording
    assert on_demand.actions[-1] == {"Action": "StopMixMonitor", "Channel": "PJSIP/1001-0001"}
    with pytest.raises(RecordingActionError) as not_on_call:
        await on_demand.desk.start("1002")
    assert not_on_call.value.reason == "not_on_call"


async def test_a_recording_closed_while_the_service_was_away_is_finished_at_the_next_start(tmp_path: Path) -> None:
    before = Desk(tmp_path)
    recording = before.answered()  # the sidecar is written at the start...
    _closed(before, recording, 1.5)  # ...the service stops, Asterisk closes the file meanwhile
    after = Desk(tmp_path)  # a new service: nothing in memory
    assert await after.desk.finish_closed() == 1
    assert [(r.recording_id, r.agent, r.queue) for r in after.records] == [(recording, "1001", "support")]


async def test_without_a_sidecar_the_recording_is_kept_with_what_its_name_says(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    desk.incoming.mkdir()
    _closed(desk, "node1-7.7-1795480000000", 1.0)
    assert await desk.desk.finish_closed() == 1
    [stored] = desk.records
    assert (stored.linkedid, stored.agent, stored.reason) == ("node1-7.7", "", "unknown")


async def test_an_empty_recording_is_dropped_not_stored(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    recording = desk.answered()
    (desk.incoming / f"{recording}.raw").touch()
    (desk.incoming / f"{recording}.done").touch()
    assert await desk.desk.finish_closed() == 0
    assert desk.records == [] and list(desk.incoming.iterdir()) == []
