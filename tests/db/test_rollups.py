"""Rollups kept incrementally from what the RecordWriter writes equal a full rebuild and the raw records."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from callcenter.dialplan.loader import load_dialplan
from callcenter.dialplan.model import Dialplan
from callcenter.kpi.report import Grouping, ReportQuery
from callcenter.records import AgentEvent, CallRecord, CallStep, IvrStep, Outcome, Record, StepKind
from callcenter.store.reports import report
from callcenter.store.rollups import RollupSettings, maintain_rollups, process_marks, rebuild
from callcenter.store.tables import (
    call_steps,
    queue_contacts,
    rollup_agent_time,
    rollup_line_calls,
    rollup_marks,
    rollup_marks_failed,
    rollup_queue,
    rollup_queue_agent,
)
from callcenter.store.writer import RecordWriter
from tests.db import conftest
from tests.db.rollup_dataset import START, Dataset, generate

REPO = Path(__file__).resolve().parents[2]
ROLLUPS = (rollup_queue, rollup_queue_agent, rollup_line_calls, rollup_agent_time)


def dialplan() -> Dialplan:
    return load_dialplan(REPO / "dialplans")


async def write(engine: AsyncEngine, spool: Path, records: list[Record]) -> None:
    writer = RecordWriter(engine.url, spool)
    for record in records:
        writer.submit(record)
    assert await writer.flush()


async def catch_up(engine: AsyncEngine, settings: RollupSettings) -> int:
    """Process marks until none is left; how many passes it took."""
    passes = 0
    while True:
        async with engine.begin() as connection:
            done = await connection.run_sync(process_marks, settings, 500)
        passes += 1
        if done == 0:
            return passes


def snapshot(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row, rounded (floats summed in another order differ in the last bits)."""
    result = {}
    for table in ROLLUPS:
        rows = connection.execute(select(table)).all()
        result[table.name] = sorted(tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows)
    return result


@pytest.fixture(scope="module")
def loaded_url(pg_password: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with the generated dataset written in six parts, the maintainer catching up after each."""
    name = f"t_{secrets.token_hex(6)}"
    admin = conftest._admin(pg_password)
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {conftest.TEMPLATE}"))
    url = conftest._url(pg_password, name)
    records = generate().records()
    spool = tmp_path_factory.mktemp("spool")

    async def load() -> None:
        engine = create_async_engine(url)
        settings = RollupSettings.from_dialplan(dialplan())
        try:
            part = len(records) // 6 + 1
            for start in range(0, len(records), part):
                await write(engine, spool, records[start : start + part])
                await catch_up(engine, settings)
        finally:
            await engine.dispose()

    try:
        asyncio.run(load())
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


def test_incremental_rollups_equal_a_full_rebuild(loaded_url: str) -> None:
    engine = create_engine(loaded_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(rollup_marks)).scalar_one() == 0
            incremental = snapshot(connection)
            assert all(incremental[t.name] for t in ROLLUPS), "the dataset fills every rollup"
            done = rebuild(connection, dialplan())  # in the connection's transaction, never committed
            assert done.calls == 1500
            assert snapshot(connection) == incremental
            connection.rollback()
    finally:
        engine.dispose()


def test_a_range_rebuild_leaves_the_other_intervals_alone(loaded_url: str) -> None:
    engine = create_engine(loaded_url)
    try:
        with engine.connect() as connection:
            before = snapshot(connection)
            connection.execute(rollup_queue.delete())
            rebuild(connection, dialplan(), START + timedelta(hours=1), START + timedelta(hours=2))
            after = connection.execute(select(rollup_queue.c.interval_start).distinct()).scalars().all()
            assert min(after) == START + timedelta(hours=1)  # only the range came back
            assert max(after) < START + timedelta(hours=2, minutes=15)  # and the contacts of calls started in it
            rebuild(connection, dialplan())
            assert snapshot(connection) == before
            connection.rollback()
    finally:
        engine.dispose()


def test_rollup_reports_equal_raw_reports_for_every_grouping(loaded_url: str) -> None:
    engine = create_engine(loaded_url)
    plan = dialplan()
    start, end = START - timedelta(hours=1), START + timedelta(hours=6)
    try:
        with engine.connect() as connection:
            for by in Grouping:
                for queues, agent in ((None, None), (frozenset({"support"}), None), (None, "1003")):
                    if by is Grouping.NUMBER and agent is not None:
                        continue  # refused: an agent's contacts are not rolled up by line (test_kpi_report)
                    query = ReportQuery(start, end, by, queues, agent, "Asia/Kathmandu")
                    rolled = report(connection, plan, query)
                    raw = report(connection, plan, query, source="raw")
                    assert rolled, (by, queues, agent)
                    assert [r.key for r in rolled] == [r.key for r in raw], (by, queues, agent)
                    for a, b in zip(rolled, raw, strict=True):
                        assert a.contacts.offered == b.contacts.offered
                        assert _close(a.contacts, b.contacts), (by, a.key)
                        assert _close(a.kpis, b.kpis), (by, a.key)
                        assert _close(a.agent_time, b.agent_time), (by, a.key)
                        assert a.calls == b.calls
                        assert (a.hint is None) == (b.hint is None)
                        if a.hint is not None and b.hint is not None:
                            assert a.hint.agents == b.hint.agents
    finally:
        engine.dispose()


def _close(a: Any, b: Any) -> bool:
    """Two dataclass values equal but for float rounding."""
    left, right = asdict(a), asdict(b)
    for name, value in left.items():
        other = right[name]
        if isinstance(value, float) and isinstance(other, float):
            if value != pytest.approx(other, rel=1e-9, abs=1e-6):
                return False
        elif isinstance(value, dict):
            if value.keys() != other.keys() or any(v != pytest.approx(other[k]) for k, v in value.items()):
                return False
        elif value != other:
            return False
    return True


# --- changes after the fact ----------------------------------------------------------------------------------

L1 = "+78001000001"
T0 = datetime(2024, 3, 10, 9, 0, tzinfo=UTC)


def sec(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def answered_call(lid: str, caller: str, at: datetime, agent: str = "1001") -> list[Record]:
    connected = at + sec(10)
    ended = connected + sec(60)
    return [
        CallStep("pbx1", lid, at, StepKind.QUEUED, "support", position=1),
        CallStep("pbx1", lid, connected, StepKind.CONNECTED, "support", agent, seconds=10.0),
        CallStep("pbx1", lid, ended, StepKind.ENDED, "support", agent, seconds=60.0),
        CallRecord(
            "pbx1", lid, lid, L1, L1, caller, "", at - sec(5), ended, Outcome.ANSWERED,
            ivr_path=(IvrStep("main", "1"),), queue="support", agent=agent, queued_at=at, connected_at=connected,
        ),
    ]  # fmt: skip


def queue_row(connection: Connection, interval: datetime) -> Any:
    return connection.execute(select(rollup_queue).where(rollup_queue.c.interval_start == interval)).one()


async def test_a_later_repeat_call_makes_the_earlier_call_unresolved(engine: AsyncEngine, tmp_path: Path) -> None:
    settings = RollupSettings.from_dialplan(dialplan())
    await write(engine, tmp_path, answered_call("1.1", "+79160000001", T0))
    await catch_up(engine, settings)
    async with engine.connect() as connection:
        row = await connection.run_sync(queue_row, T0)
        assert (row.answered, row.resolved) == (1, 1)
    # The same number calls again 23 h later, into another interval: the first call was not resolved.
    await write(engine, tmp_path, answered_call("1.2", "+79160000001", T0 + timedelta(hours=23)))
    await catch_up(engine, settings)
    async with engine.connect() as connection:
        row = await connection.run_sync(queue_row, T0)
        assert (row.answered, row.resolved) == (1, 0)
        later = await connection.run_sync(queue_row, T0 + timedelta(hours=23))
        assert (later.answered, later.resolved) == (1, 1)
    # A call from that number 25 h after the second is outside its window: the second stays resolved.
    await write(engine, tmp_path, answered_call("1.3", "+79160000001", T0 + timedelta(hours=48)))
    await catch_up(engine, settings)
    async with engine.connect() as connection:
        later = await connection.run_sync(queue_row, T0 + timedelta(hours=23))
        assert later.resolved == 1


async def test_a_late_step_updates_the_interval_it_belongs_to(engine: AsyncEngine, tmp_path: Path) -> None:
    settings = RollupSettings.from_dialplan(dialplan())
    records = answered_call("2.1", "+79160000002", T0 + sec(890))  # queued at 09:14:50, answered in 09:15
    await write(engine, tmp_path, records[:1])
    await catch_up(engine, settings)
    async with engine.connect() as connection:
        row = await connection.run_sync(queue_row, T0)
        assert (row.offered, row.answered, row.line) == (1, 0, "")  # no call record yet: no line
    await write(engine, tmp_path, records[1:])  # written long after, in another interval
    await catch_up(engine, settings)
    async with engine.connect() as connection:
        row = await connection.run_sync(queue_row, T0)
        assert (row.offered, row.answered, row.handled, row.line) == (1, 1, 1, L1)
        assert row.answered_wait_seconds == 10.0
        assert row.talk_seconds == 60.0
        count = await connection.scalar(select(func.count()).select_from(rollup_queue))
        assert count == 1  # the row without a line is gone


async def test_wrap_up_written_after_the_call_reaches_aht(engine: AsyncEngine, tmp_path: Path) -> None:
    settings = RollupSettings.from_dialplan(dialplan())
    records = answered_call("3.1", "+79160000003", T0, agent="1004")
    ended = T0 + sec(70)
    await write(engine, tmp_path, records)
    await catch_up(engine, settings)
    await write(engine, tmp_path, [AgentEvent("pbx1", "1004", "wrap_up", "", ended + sec(0.3))])
    await catch_up(engine, settings)
    async with engine.connect() as connection:
        assert (await connection.run_sync(queue_row, T0)).wrapup_seconds == 0.0  # its end is not known yet
    await write(engine, tmp_path, [AgentEvent("pbx1", "1004", "available", "", ended + sec(15.3))])
    await catch_up(engine, settings)
    async with engine.connect() as connection:
        row = await connection.run_sync(queue_row, T0)
        assert row.wrapup_seconds == pytest.approx(15.0)
        agent_row = (
            await connection.execute(select(rollup_queue_agent).where(rollup_queue_agent.c.agent == "1004"))
        ).one()
        assert agent_row.wrapup_seconds == pytest.approx(15.0)
        slices = (await connection.execute(select(rollup_agent_time))).all()
        assert [(s.agent, s.state, round(s.seconds, 6)) for s in slices] == [("1004", "wrap_up", 15.0)]


async def test_a_replayed_spool_changes_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    settings = RollupSettings.from_dialplan(dialplan())
    records = [
        *answered_call("4.1", "+79160000004", T0),
        AgentEvent("pbx1", "1001", "available", "", T0 - sec(60)),
        AgentEvent("pbx1", "1001", "on_call", "", T0 + sec(10)),
        AgentEvent("pbx1", "1001", "available", "", T0 + sec(70)),
    ]
    await write(engine, tmp_path, records)
    await catch_up(engine, settings)
    async with engine.connect() as connection:
        first = await connection.run_sync(snapshot)
    await write(engine, tmp_path, records)  # the same records again, as after a crash
    async with engine.connect() as connection:
        marks = await connection.scalar(select(func.count()).select_from(rollup_marks))
        assert marks == 4  # the call, and each of the agent's events: marked again
    await catch_up(engine, settings)
    async with engine.connect() as connection:
        assert await connection.run_sync(snapshot) == first
        facts = await connection.scalar(select(func.count()).select_from(queue_contacts))
        assert facts == 1


async def test_the_service_maintainer_processes_marks_until_stopped(engine: AsyncEngine, tmp_path: Path) -> None:
    dataset: Dataset = generate(calls=60, seed=3, hours=0.5)
    await write(engine, tmp_path, dataset.records())
    stop = asyncio.Event()
    passes: list[int] = []

    def passed(done: int) -> None:
        passes.append(done)
        if done == 0:
            stop.set()

    sync_engine = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        await asyncio.wait_for(
            maintain_rollups(sync_engine, dialplan, every=0.01, stop=stop, batch=50, passed=passed), 30
        )
    finally:
        sync_engine.dispose()
    assert passes[0] == 50 and passes[-1] == 0  # full batches back to back, then an empty pass
    async with engine.connect() as connection:
        offered = await connection.scalar(select(func.sum(rollup_queue.c.offered)))
        facts = await connection.scalar(select(func.count()).select_from(queue_contacts))
        assert facts is not None and offered == facts and facts > 40


# --- a record the facts cannot be made of --------------------------------------------------------------------------


async def _maintain_until_idle(url: str, set_aside: list[int], passes: list[int]) -> None:
    stop = asyncio.Event()

    def passed(done: int) -> None:
        passes.append(done)
        if done == 0 or len(passes) > 50:
            stop.set()

    sync_engine = create_engine(url)
    try:
        await asyncio.wait_for(
            maintain_rollups(
                sync_engine, dialplan, every=0.01, stop=stop, batch=50, passed=passed, set_aside=set_aside.append
            ),
            60,
        )
    finally:
        sync_engine.dispose()


async def test_a_record_the_facts_cannot_be_made_of_is_set_aside_and_the_other_calls_go_on(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    good = [record for n in range(5) for record in answered_call(f"9.{n}", f"+7916000010{n}", T0 + sec(60 * n))]
    await write(engine, tmp_path, good)
    # A step of a kind this version does not know (written by a newer node during a rolling upgrade, or by hand).
    async with engine.begin() as connection:
        await connection.execute(
            call_steps.insert().values(node="pbx1", linkedid="9.bad", at=T0 + sec(30), step="teleported")
        )
        await connection.execute(rollup_marks.insert().values(kind="call", node="pbx1", key="9.bad"))
    await write(engine, tmp_path, answered_call("9.after", "+79160000200", T0 + sec(600)))
    set_aside: list[int] = []
    passes: list[int] = []
    await _maintain_until_idle(engine.url.render_as_string(hide_password=False), set_aside, passes)

    assert set_aside == [1] and passes[-1] == 0
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(rollup_marks)) == 0
        [failed] = (await connection.execute(select(rollup_marks_failed))).all()
        assert (failed.kind, failed.node, failed.key) == ("call", "pbx1", "9.bad")
        assert "teleported" in failed.error
        facts = {row.linkedid for row in await connection.execute(select(queue_contacts.c.linkedid))}
        assert facts == {f"9.{n}" for n in range(5)} | {"9.after"}
        assert await connection.scalar(select(func.sum(rollup_queue.c.answered))) == 6


async def test_the_database_away_sets_nothing_aside(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    port = str(conftest.PORT)
    closed = database_url.replace(f":{port}/", f":{int(port) + 7}/")  # nothing listens there
    set_aside: list[int] = []
    passes: list[int] = []
    await _maintain_until_idle(closed, set_aside, passes)
    assert set_aside == [] and passes[0] == 0
    assert "rollups not maintained" in caplog.text
