"""Call records survive PostgreSQL being away: journalled to the spool, written once when it returns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from callcenter.config import Settings
from callcenter.records import CallRecord, IvrStep, Outcome
from callcenter.stack import Stack
from callcenter.store.tables import calls
from callcenter.store.writer import RecordWriter
from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e


def _record(linkedid: str) -> CallRecord:
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    return CallRecord(
        node="test-node",
        linkedid=linkedid,
        uniqueid=linkedid,
        dialled_raw="88005553535",
        dialled_number="+78005553535",
        caller_number="79160000000",
        caller_name="",
        started_at=start,
        answered_at=start + timedelta(seconds=1),
        ended_at=start + timedelta(seconds=9),
        outcome=Outcome.COMPLETED,
        language="ru",
        ivr_path=(IvrStep("support-main", "1"),),
    )


def _rows(url: str, linkedids: list[str]) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = select(func.count()).select_from(calls).where(calls.c.linkedid.in_(linkedids))
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


async def test_records_spool_while_the_database_is_unreachable_and_replay_exactly_once(
    stack: Stack, settings: Settings, tmp_path: Path
) -> None:
    url = settings.database_dsn(stack.secrets)
    unreachable = url.replace(f":{settings.pg_port}/", ":9/")  # nothing listens on the discard port
    spool = tmp_path / "spool"
    linkedids = [f"spool-{uuid.uuid4()}" for _ in range(3)]

    writer = RecordWriter(unreachable, spool)
    for linkedid in linkedids:
        writer.submit(_record(linkedid))
    assert await writer.flush() is False
    assert writer.pending == 3
    journalled = [line for path in spool.glob("segment-*.jsonl") for line in path.read_text().splitlines()]
    assert len(journalled) == 3
    writer.close()

    # The next run of the service finds the journal and writes it.
    replay = RecordWriter(url, spool)
    assert replay.recover() == 3
    assert await replay.flush() is True
    assert _rows(url, linkedids) == 3
    assert not list(spool.glob("segment-*.jsonl"))
    replay.close()

    # A crash between the write and the journal's deletion replays them again: still one row per call.
    again = RecordWriter(url, spool)
    for linkedid in linkedids:
        again.submit(_record(linkedid))
    assert await again.flush() is True
    assert _rows(url, linkedids) == 3
    again.close()


def test_a_call_during_a_database_outage_is_recorded_when_the_database_returns(
    stack: Stack, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    assert stack.database is not None
    mark = service.mark()
    stack.database.stop()
    try:
        caller = new_caller()
        result = run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, CallScript(keys=((1000, "2"),)))
        assert result.ok, result.output  # callers notice nothing
        service.wait_for(r"PostgreSQL unreachable; spooling call records", start=mark, timeout=20)
    finally:
        stack.database.start()
    service.wait_for(r"PostgreSQL is back after", start=mark, timeout=40)
    record = wait_for_record(caller)
    assert (record["digits"], record["queue"]) == ("2", "support")
