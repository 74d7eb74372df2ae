"""The recordings disk alarm (callcenter/recordings/disk.py): said once per episode, and once when it ends."""

from __future__ import annotations

from callcenter.recordings.disk import DiskWatch, Notice

MB = 1024 * 1024


def watch() -> DiskWatch:
    return DiskWatch("/srv/rec", min_free_bytes=100 * MB)


def test_plenty_of_space_and_clean_passes_say_nothing() -> None:
    disk = watch()
    assert disk.free_space(0.0, 500 * MB) is None
    assert disk.finish_pass(1.0, []) is None
    assert not disk.alarm


def test_low_space_is_alarmed_once_however_often_it_is_read_then_cleared_with_the_episode_length() -> None:
    disk = watch()
    raised = disk.free_space(10.0, 50 * MB)
    assert raised is not None and raised.kind == "raised"
    assert "low on space, 50.0 MB free in /srv/rec (alarm below 100.0 MB)" in raised.message
    assert [disk.free_space(10.0 + i, 40 * MB) for i in range(1, 50)] == [None] * 49
    assert disk.finish_pass(60.0, []) is None
    assert disk.alarm
    cleared = disk.free_space(70.0, 300 * MB)
    assert cleared == Notice("cleared", "recordings disk OK again after 60 s: 300.0 MB free in /srv/rec")
    assert not disk.alarm


def test_free_space_hovering_at_the_threshold_does_not_flap() -> None:
    disk = watch()
    assert disk.free_space(0.0, 99 * MB) is not None
    assert disk.free_space(1.0, 101 * MB) is None  # above the threshold, not yet a tenth above it
    assert disk.free_space(2.0, 99 * MB) is None
    assert disk.alarm
    notice = disk.free_space(3.0, 111 * MB)
    assert notice is not None and notice.kind == "cleared"
    assert disk.free_space(4.0, 105 * MB) is None  # cleared: back under 110 MB is not low until under 100
    assert not disk.alarm


def test_a_failed_write_raises_the_alarm_with_the_first_error_and_a_clean_pass_clears_it() -> None:
    disk = watch()
    disk.free_space(0.0, 500 * MB)
    raised = disk.finish_pass(5.0, ["rec-1: No space left on device", "rec-2: No space left on device"])
    assert raised is not None and raised.kind == "raised"
    assert "recordings cannot be written (rec-1: No space left on device and 1 more)" in raised.message
    assert disk.finish_pass(6.0, ["rec-1: No space left on device"]) is None  # the same episode, still failing
    cleared = disk.finish_pass(9.0, [])
    assert cleared is not None and cleared.kind == "cleared" and "after 4 s" in cleared.message


def test_a_change_of_cause_is_said_and_the_episode_runs_from_its_first_cause() -> None:
    disk = watch()
    first = disk.free_space(0.0, 10 * MB)
    assert first is not None and "low on space" in first.message and "cannot be written" not in first.message
    both = disk.finish_pass(3.0, ["rec-1: No space left on device"])
    assert both is not None and both.kind == "raised"
    assert "low on space" in both.message and "cannot be written" in both.message
    assert disk.free_space(4.0, 500 * MB) is None  # space back, the write not yet retried: still alarmed
    assert disk.alarm
    cleared = disk.finish_pass(5.0, [])
    assert cleared is not None and cleared.kind == "cleared" and "after 5 s" in cleared.message
