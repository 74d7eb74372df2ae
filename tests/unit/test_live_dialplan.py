"""callcenter.live_dialplan: reloading a copy of the sample dialplans/, swapping only a valid, changed version."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.dialplan.model import Dialplan, ToQueue, ToVoicemail
from callcenter.ivr.interpreter import CallContext, Finish, IvrSession
from callcenter.live_dialplan import LiveDialplan, ReloadResult
from callcenter.records import Outcome

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "dialplans"
WEEKDAY = datetime(2027, 1, 12, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    target = tmp_path / "dialplans"
    shutil.copytree(SAMPLE_DIR, target)
    return target


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Dialplan] = []

    def __call__(self, dialplan: Dialplan) -> None:
        self.seen.append(dialplan)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    lines = [n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in text]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def live(directory: Path) -> tuple[LiveDialplan, Recorder]:
    recorder = Recorder()
    return LiveDialplan(directory, on_change=recorder), recorder


def test_the_first_version_is_loaded_at_once(directory: Path) -> None:
    dialplan, recorder = live(directory)
    assert dialplan.version == 1
    assert list(dialplan.current.numbers) == ["+78005553535", "+78005553536"]
    assert dialplan() is dialplan.current
    assert recorder.seen == []  # the first version is applied by whoever starts the service


def test_reload_without_a_change_keeps_the_version(directory: Path) -> None:
    dialplan, recorder = live(directory)
    before = dialplan.current
    assert dialplan.reload() == ReloadResult(changed=False, version=1)
    assert dialplan.current is before
    assert recorder.seen == []


def test_valid_edit_is_swapped_in_as_the_next_version(directory: Path) -> None:
    dialplan, recorder = live(directory)
    before = dialplan.current
    edit(directory / "queues.yaml", "wrap_up: 15", "wrap_up: 30")
    result = dialplan.reload()
    assert result == ReloadResult(changed=True, version=2)
    assert result.ok
    assert dialplan.version == 2
    assert dialplan.current is not before
    assert dialplan.current.queues["support"].wrap_up == 30
    assert dialplan() is dialplan.current
    assert len(recorder.seen) == 1
    assert recorder.seen[0] is dialplan.current


def test_new_file_is_merged_in_on_reload(directory: Path) -> None:
    dialplan, _ = live(directory)
    (directory / "more.yaml").write_text('numbers:\n  "84951234567": {name: Desk, menu: sales-main}\n')
    assert dialplan.reload() == ReloadResult(changed=True, version=2)
    assert list(dialplan.current.numbers) == ["+78005553535", "+78005553536", "+74951234567"]


def test_invalid_edit_changes_nothing_and_returns_the_problems(directory: Path) -> None:
    dialplan, recorder = live(directory)
    before = dialplan.current
    lines = directory / "lines.yaml"
    edit(lines, "queue: sales,", "queue: sale,")
    result = dialplan.reload()
    assert (result.changed, result.version, result.ok) == (False, 1, False)
    assert [(problem.file, problem.line, problem.message) for problem in result.problems] == [
        (lines, line_of(lines, "queue: sale,"), "queue 'sale' is not defined (did you mean 'sales'?)")
    ]
    assert dialplan.current is before
    assert dialplan.version == 1
    assert recorder.seen == []


def test_invalid_edit_is_logged(directory: Path, caplog: pytest.LogCaptureFixture) -> None:
    dialplan, _ = live(directory)
    edit(directory / "agents.yaml", 'extension: "1003"', 'extension: "1001"')
    with caplog.at_level(logging.ERROR, logger="callcenter.live_dialplan"):
        dialplan.reload()
    assert [record.getMessage() for record in caplog.records] == [
        f"dialplan not reloaded: {directory / 'agents.yaml'}:13:5: extension 1001 is defined twice"
    ]


def test_a_fixed_edit_after_an_invalid_one_is_the_next_version(directory: Path) -> None:
    dialplan, recorder = live(directory)
    edit(directory / "queues.yaml", "wrap_up: 15", "wrap_up: -1")
    assert not dialplan.reload().ok
    edit(directory / "queues.yaml", "wrap_up: -1", "wrap_up: 20")
    assert dialplan.reload() == ReloadResult(changed=True, version=2)
    assert [seen.queues["support"].wrap_up for seen in recorder.seen] == [20]


def test_call_in_progress_keeps_the_version_it_started_with(directory: Path) -> None:
    dialplan, _ = live(directory)
    old = dialplan.current
    snapshot = old.model_dump()
    line = old.line_for("88005553536")
    assert line is not None
    call = IvrSession(old, line, CallContext(None, WEEKDAY))
    call.start()
    edit(
        directory / "lines.yaml",
        "{action: queue, queue: sales, prompts: [cc/connecting]}",
        "{action: voicemail, mailbox: sales}",
    )
    assert dialplan.reload().changed
    # The new version has the edit; the call, and the model it holds, do not.
    assert dialplan.current.menus["sales-main"].options["1"] == ToVoicemail(mailbox="sales")
    assert old.menus["sales-main"].options["1"] == ToQueue(queue="sales", prompts=("cc/connecting",))
    assert old.model_dump() == snapshot
    assert call.press("1").then == Finish(Outcome.QUEUED, ToQueue(queue="sales", prompts=("cc/connecting",)))


def test_failing_on_change_is_logged_and_the_new_version_stays(
    directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_: Dialplan) -> None:
        raise RuntimeError("asterisk unreachable")

    dialplan = LiveDialplan(directory, on_change=broken)
    edit(directory / "queues.yaml", "wrap_up: 15", "wrap_up: 30")
    with caplog.at_level(logging.ERROR, logger="callcenter.live_dialplan"):
        assert dialplan.reload() == ReloadResult(changed=True, version=2)
    assert dialplan.current.queues["support"].wrap_up == 30
    assert [record.getMessage() for record in caplog.records] == ["applying dialplan version 2 to Asterisk failed"]


def test_prompts_are_checked_on_reload_when_shipped_is_given(directory: Path) -> None:
    dialplan = LiveDialplan(directory, shipped=lambda _language, prompt: prompt != "cc/gone")
    lines = directory / "lines.yaml"
    edit(lines, "prompts: [cc/closed]", "prompts: [cc/gone]")
    result = dialplan.reload()
    assert [(problem.file, problem.line, problem.column, problem.message) for problem in result.problems] == [
        (
            lines,
            line_of(lines, "cc/gone"),
            41,
            "prompt 'cc/gone' does not exist in 'ru' (callers of +78005553535 would hear silence): "
            "add it to sounds/prompts.tsv or use a core sound",
        )
    ]
    assert dialplan.version == 1


def test_prompts_are_not_checked_without_shipped(directory: Path) -> None:
    dialplan, _ = live(directory)
    edit(directory / "lines.yaml", "prompts: [cc/closed]", "prompts: [cc/gone]")
    assert dialplan.reload() == ReloadResult(changed=True, version=2)
