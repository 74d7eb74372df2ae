"""Reports over the generated dataset: equal to the pure KPI math over the records; the `report` command."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.cli import main
from callcenter.kpi.agent_time import agent_time, totals
from callcenter.kpi.contacts import QueueContact, contacts_from_steps
from callcenter.kpi.measures import measure_by_queue
from callcenter.kpi.outcomes import CallOrigin, repeated_calls
from callcenter.kpi.report import Grouping, ReportQuery
from callcenter.kpi.wrapup import attribute_wrapup, wrapups_from_events
from callcenter.records import CallStep
from callcenter.store.reports import report, report_async
from callcenter.store.rollups import RollupSettings
from tests.db.rollup_dataset import START, generate
from tests.db.test_rollups import dialplan, loaded_url

__all__ = ["loaded_url"]  # the module-scoped dataset fixture, loaded for this module too

FROM, TO = START - timedelta(hours=1), START + timedelta(hours=6)


def pure_contacts() -> tuple[list[QueueContact], set[tuple[str, str]]]:
    """The dataset's contacts by the pure functions alone, wrap-up attributed, and the repeated calls."""
    dataset = generate()
    steps: dict[str, list[CallStep]] = {}
    for step in dataset.steps:
        steps.setdefault(step.linkedid, []).append(step)
    contacts = [
        contact
        for call in dataset.calls
        for contact in contacts_from_steps(steps.get(call.linkedid, ()), call.dialled_number or "")
    ]
    contacts = attribute_wrapup(contacts, wrapups_from_events(dataset.events))
    repeated = repeated_calls(CallOrigin((c.node, c.linkedid), c.caller_number, c.started_at) for c in dataset.calls)
    return contacts, repeated


def test_the_report_by_queue_equals_the_pure_measures_over_the_records(loaded_url: str) -> None:
    contacts, repeated = pure_contacts()
    settings = RollupSettings.from_dialplan(dialplan())
    expected = measure_by_queue(contacts, settings.thresholds)
    engine = create_engine(loaded_url)
    try:
        with engine.connect() as connection:
            rows = report(connection, dialplan(), ReportQuery(FROM, TO, Grouping.QUEUE))
    finally:
        engine.dispose()
    assert [row.key for row in rows] == sorted(expected)
    for row in rows:
        want = expected[row.key]
        got = row.contacts
        counts: tuple[str, ...] = ("offered", "answered", "abandoned", "short_abandoned", "overflowed", "callbacks")
        counts = (
            *counts,
            "transferred",
            "answered_within_target",
            "abandoned_within_target",
            "handled",
            "ring_no_answer",
        )
        assert {n: getattr(got, n) for n in counts} == {n: getattr(want, n) for n in counts}, row.key
        for name in ("talk_seconds", "hold_seconds", "wrapup_seconds"):
            assert getattr(got, name) == pytest.approx(getattr(want, name)), (row.key, name)
        for name in ("sl_offered", "sl_answered", "sl_asterisk2", "asa_seconds", "aht_seconds", "abandonment_rate"):
            assert getattr(row.kpis, name) == pytest.approx(getattr(want, name)), (row.key, name)
        assert got.max_wait_seconds == pytest.approx(want.max_wait_seconds)
        answered = [c for c in contacts if c.queue == row.key and c.outcome == "answered"]
        resolved = [c for c in answered if (c.node, c.linkedid) not in repeated]
        assert row.kpis.fcr == pytest.approx(len(resolved) / len(answered))
        # The dataset exercises what the figures are about.
        assert 0 < got.resolved < got.answered and got.wrapup_seconds > 0 and got.transferred > 0
        assert got.short_abandoned > 0 and got.hold_seconds > 0


def test_agent_figures_equal_the_pure_agent_time(loaded_url: str) -> None:
    events = generate().events
    engine = create_engine(loaded_url)
    try:
        with engine.connect() as connection:
            rows = report(connection, dialplan(), ReportQuery(FROM, TO, Grouping.AGENT))
    finally:
        engine.dispose()
    paused = 0.0
    for row in rows:
        mine = [e for e in events if e.agent == row.key]
        want = totals((s.state, s.reason, s.seconds) for s in agent_time(mine))
        assert row.occupancy == pytest.approx(want.occupancy)
        assert row.utilization == pytest.approx(want.utilization)
        assert dict(row.agent_time.paused_by_reason) == pytest.approx(dict(want.paused_by_reason))
        paused += row.agent_time.paused
    assert paused > 0


async def test_the_async_entry_gives_what_the_sync_one_does(loaded_url: str) -> None:
    query = ReportQuery(FROM, TO, Grouping.HOUR, frozenset({"support", "sales"}), tz="Europe/Moscow")
    engine = create_async_engine(loaded_url)
    try:
        async with engine.connect() as connection:
            rows = await report_async(connection, dialplan(), query)
    finally:
        await engine.dispose()
    sync_engine = create_engine(loaded_url)
    try:
        with sync_engine.connect() as connection:
            assert rows == report(connection, dialplan(), query)
    finally:
        sync_engine.dispose()
    assert [row.key[11:] for row in rows][:2] == ["00:00:00+03:00", "01:00:00+03:00"]
    assert all(row.staffed is not None and row.hint is not None for row in rows)
    # Agent time of the members of support and sales only (1001-1003 in dialplans/), not of 1004-1006.
    assert max(row.staffed or 0.0 for row in rows) == pytest.approx(3.0, abs=0.2)


@pytest.fixture
def cli_env(loaded_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLCENTER_DATABASE_URL", loaded_url)
    monkeypatch.setenv("CALLCENTER_RUN_DIR", str(tmp_path))
    monkeypatch.setenv("CALLCENTER_DIALPLAN_DIR", str(Path(__file__).resolve().parents[2] / "dialplans"))


@pytest.mark.usefixtures("cli_env")
def test_the_report_command_prints_a_table_csv_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["report", "--from", "2024-03-10", "--to", "2024-03-11", "--by", "day", "--tz", "Europe/Moscow"]
    assert main([*args, "--queue", "support"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["group", "offered", "answ"]
    assert "SL (sl_offered)" in table[0]
    assert [line.split()[0] for line in table[1:]] == ["2024-03-11T00:00:00+03:00"]

    assert main([*args, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["group"] for row in rows] == ["2024-03-11T00:00:00+03:00"]
    offered = len(pure_contacts()[0])
    assert int(rows[0]["offered"]) == offered and float(rows[0]["containment"]) > 0

    assert main([*args, "--format", "json", "--by", "number"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["group"] for row in data] == ["+78001000001", "+78001000002"]
    assert sum(row["offered"] for row in data) == offered


@pytest.mark.usefixtures("cli_env")
def test_the_report_command_explains_bad_dates_and_zones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--from", "2024-13-01", "--to", "2024-03-11"]) == 2
    assert "--from '2024-13-01': expected a date" in capsys.readouterr().err
    assert main(["report", "--from", "2024-03-10", "--to", "2024-03-11", "--tz", "Mars/Olympus"]) == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err
    assert main(["report", "--from", "2024-03-11", "--to", "2024-03-10T12:00"]) == 2
    assert "must be after its start" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_env")
def test_report_rebuild_remakes_the_rollups(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "rebuild", "--from", "2024-03-10T23:00", "--to", "2024-03-10T23:30"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rollups rebuilt from 2024-03-10T23:00:00+00:00 to 2024-03-10T23:30:00+00:00:")
