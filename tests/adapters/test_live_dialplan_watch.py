"""LiveDialplan.watch: a saved edit goes live by itself; a broken save does not."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from callcenter.dialplan.model import Dialplan
from callcenter.live_dialplan import LiveDialplan

SAMPLE = Path(__file__).resolve().parents[2] / "dialplans"


def _copy(tmp_path: Path) -> Path:
    directory = tmp_path / "dialplans"
    shutil.copytree(SAMPLE, directory)
    return directory


async def test_a_saved_change_goes_live_without_a_command(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    changes: asyncio.Queue[Dialplan] = asyncio.Queue()
    live = LiveDialplan(directory, on_change=changes.put_nowait)
    before = live.current
    watcher = asyncio.create_task(live.watch(interval=0.05))
    try:
        lines = directory / "lines.yaml"
        lines.write_text(lines.read_text().replace("name: Sales line", "name: Sales and rentals"))
        async with asyncio.timeout(5):
            new = await changes.get()
    finally:
        watcher.cancel()
    assert new is live.current and live.version == 2
    assert new.line_for("88005553536") is not None
    assert new.line_for("88005553536").name == "Sales and rentals"  # type: ignore[union-attr]
    assert before.line_for("88005553536").name == "Sales line"  # type: ignore[union-attr]


async def test_a_broken_save_leaves_the_live_version_and_a_fix_goes_live(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    changes: asyncio.Queue[Dialplan] = asyncio.Queue()
    live = LiveDialplan(directory, on_change=changes.put_nowait)
    before = live.current
    watcher = asyncio.create_task(live.watch(interval=0.05))
    try:
        queues = directory / "queues.yaml"
        good = queues.read_text()
        queues.write_text(good.replace("strategy: longest_idle", "strategy: longest_idel"))
        # Broken: nothing goes live however long we wait for the watcher's next rounds.
        await asyncio.sleep(0.3)
        assert live.current is before and changes.empty()
        queues.write_text(good.replace("wrap_up: 15", "wrap_up: 30"))
        async with asyncio.timeout(5):
            new = await changes.get()
    finally:
        watcher.cancel()
    assert new.queues["support"].wrap_up == 30
    assert live.version == 2
