"""The recording finisher on a disk that fills up: a real tmpfs of 512 KB as the recordings directory.

A recording that cannot be written is kept as Asterisk left it (no cut file stored, no record), retried
every pass, and said once per episode (an error, then a recovery line); once space is back it is stored
whole. sox exits 0 when its write fails, so this is also what proves the finisher reads its FAIL line.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from panoramisk.message import Message

from callcenter.calls.recordings import RAW_BYTES_PER_SECOND, RecordingDesk
from callcenter.records import Recording
from tests.adapters.test_recording_desk import LINE, NOW, _closed, _dialplan

WAV_HEADER = 44


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "recordings"
    directory.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(directory)], check=True, timeout=10)
    try:
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=True, timeout=10)


def _fill(directory: Path) -> Path:
    """Write until the disk is full; the filler's path, to free the space again."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def _files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.rglob("*") if path.is_file())


class FakeDesk:
    """A RecordingDesk whose AMI actions are kept (none are made here), on the given recordings directory."""

    def __init__(self, tmp_path: Path, stored: Path) -> None:
        self.incoming = tmp_path / "incoming"
        self.incoming.mkdir()
        self.records: list[Recording] = []
        dialplan = _dialplan("always")

        async def act(action: dict[str, str]) -> Message:
            return Message({"Response": "Success"})

        self.desk = RecordingDesk(
            lambda: dialplan,
            act,
            self.records.append,
            "node1",
            self.incoming,
            PurePosixPath("/srv/callcenter/run/recordings"),
            stored,
            "wav",
            clock=lambda: NOW,
            min_free_bytes=64 * 1024,
        )

    def closed_recording(self, seconds: float) -> str:
        recording = self.desk.plan_offer("1.1", "node1-1.1", "support", LINE)
        for event in (
            {"Event": "DialEnd", "DialStatus": "ANSWER", "Uniqueid": "1.1", "DestChannel": "PJSIP/1001-0001",
             "DestUniqueid": "1.2"},
            {"Event": "UserEvent", "UserEvent": "CcRecordingStarted", "Channel": "PJSIP/1001-0001",
             "Uniqueid": "1.2", "Recording": recording},
            {"Event": "Hangup", "Channel": "PJSIP/1001-0001", "Uniqueid": "1.2"},
        ):  # fmt: skip
            self.desk.event(Message(event))
        _closed(self, recording, seconds)  # type: ignore[arg-type]  # it needs .incoming only
        return recording


async def test_a_recording_that_does_not_fit_is_kept_alarmed_once_and_stored_whole_when_space_returns(
    tmp_path: Path, small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    desk = FakeDesk(tmp_path, small_disk)
    recording = desk.closed_recording(3.0)  # ~94 KB of audio
    filler = _fill(small_disk)
    caplog.set_level(logging.DEBUG, logger="callcenter.calls.recordings")

    desk.desk.check_disk()
    for _ in range(3):  # the service retries every second
        assert await desk.desk.finish_closed() == 0
        desk.desk.check_disk()
    assert desk.records == []
    assert _files(desk.incoming) == [
        f"{recording}.done",
        f"{recording}.json",
        f"{recording}.raw",
    ]
    assert _files(small_disk) == ["filler"]  # no cut file left
    assert desk.desk.disk.alarm and desk.desk.unfinished == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2, errors  # low on space; then that and a recording not written: once each
    assert "low on space" in errors[0]
    assert f"recordings cannot be written ({recording}: sox failed" in errors[1]
    assert "No space left on device" in errors[1]

    filler.unlink()
    desk.desk.check_disk()
    assert await desk.desk.finish_closed() == 1
    [stored] = desk.records
    assert stored.size == WAV_HEADER + 3 * RAW_BYTES_PER_SECOND == (small_disk / stored.path).stat().st_size
    assert not desk.desk.disk.alarm and desk.desk.unfinished == 0
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert [level for level, _ in said] == ["ERROR", "ERROR", "WARNING"], said  # space back: nothing more to say
    assert "recordings disk OK again after" in said[2][1]
