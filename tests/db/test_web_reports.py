"""The report pages and routes (callcenter/web/report_pages.py) on the reports module, with the rollups kept
by the real RecordWriter from written call records, on a real loopback server and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from callcenter.dialplan.loader import load_dialplan
from callcenter.records import CallRecord, CallStep, IvrStep, Outcome, Record, StepKind
from callcenter.store.rollups import RollupSettings, process_marks
from callcenter.store.writer import RecordWriter
from tests.db.web_stack import NODE, REPORT_NOW, SAMPLE, WebStack, web_stack

LINE = "+78001000001"
T0 = REPORT_NOW.replace(hour=10, minute=1)  # today, 10:01 UTC (the IVR started 5 s before)


def answered(linkedid: str, queue: str, agent: str, at: datetime, wait: float, talk: float) -> list[Record]:
    connected = at + timedelta(seconds=wait)
    ended = connected + timedelta(seconds=talk)
    return [
        CallStep(NODE, linkedid, at, StepKind.QUEUED, queue, position=1),
        CallStep(NODE, linkedid, connected, StepKind.CONNECTED, queue, agent, seconds=wait),
        CallStep(NODE, linkedid, ended, StepKind.ENDED, queue, agent, seconds=talk),
        CallRecord(
            NODE, linkedid, linkedid, LINE, LINE, "+79160000000", "", at - timedelta(seconds=5), ended,
            Outcome.ANSWERED, ivr_path=(IvrStep("main", "1"),), queue=queue, agent=agent, queued_at=at,
            connected_at=connected,
        ),
    ]  # fmt: skip


def abandoned(linkedid: str, queue: str, at: datetime, wait: float) -> list[Record]:
    gone = at + timedelta(seconds=wait)
    return [
        CallStep(NODE, linkedid, at, StepKind.QUEUED, queue, position=1),
        CallStep(NODE, linkedid, gone, StepKind.ABANDONED, queue, seconds=wait),
        CallRecord(
            NODE, linkedid, linkedid, LINE, LINE, "+79160000001", "", at - timedelta(seconds=5), gone,
            Outcome.ABANDONED, ivr_path=(IvrStep("main", "1"),), queue=queue, queued_at=at,
        ),
    ]  # fmt: skip


DATASET: list[Record] = [
    *answered("s1", "support", "1001", T0, 10, 100),  # support, 10:00 interval, within T
    *answered("s2", "support", "1002", T0 + timedelta(minutes=20), 40, 200),  # support, 10:15, outside T
    *answered("m1", "sales", "1003", T0 + timedelta(minutes=5), 5, 60),  # sales, 10:00
    *abandoned("m2", "sales", T0 + timedelta(minutes=31), 30),  # sales, 10:30, long abandon
]


async def write_and_roll_up(engine: AsyncEngine, spool: Path) -> None:
    writer = RecordWriter(engine.url, spool)
    for record in DATASET:
        writer.submit(record)
    assert await writer.flush()
    settings = RollupSettings.from_dialplan(load_dialplan(SAMPLE))
    for _ in range(20):  # bounded: a handful of marks need one or two passes
        async with engine.begin() as connection:
            if await connection.run_sync(process_marks, settings, 500) == 0:
                return
    pytest.fail("the rollups never caught up")


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[WebStack]:
    engine = create_async_engine(database_url)
    try:
        await write_and_roll_up(engine, tmp_path / "spool")
    finally:
        await engine.dispose()
    async with web_stack(database_url, tmp_path) as started:
        yield started


def totals(rows: list[dict[str, object]], name: str) -> float:
    return sum(value for row in rows if isinstance(value := row[name], int | float))


async def test_an_admin_gets_every_queue_per_interval_of_today_by_default(stack: WebStack) -> None:
    browser = await stack.logged_in("boss")
    answer = (await browser.request("GET", "/api/reports")).json()
    assert (answer["from"], answer["to"], answer["group"]) == ("2026-11-24", "2026-11-24", "interval")
    rows = answer["rows"]
    assert [row["group"][11:16] for row in rows] == ["10:00", "10:15", "10:30"]
    assert [(row["offered"], row["answered"], row["abandoned"]) for row in rows] == [(2, 2, 0), (1, 1, 0), (1, 0, 1)]


async def test_a_supervisor_gets_their_queues_only_and_an_agent_their_own_figures(stack: WebStack) -> None:
    sales = await stack.logged_in("sup2")
    rows = (await sales.request("GET", "/api/reports?group=queue")).json()["rows"]
    assert [(row["group"], row["offered"]) for row in rows] == [("sales", 2)]
    anna = await stack.logged_in("ag1")
    rows = (await anna.request("GET", "/api/reports?group=day")).json()["rows"]
    assert totals(rows, "answered") == 1 and totals(rows, "talk_seconds") == 100
    refused = await anna.request("GET", "/api/reports?agent=1002")
    assert refused.status == 403
    refused = await sales.request("GET", "/api/reports?queue=support")
    assert refused.status == 403
    refused = await sales.request("GET", "/api/reports?agent=1001")
    assert refused.status == 403


async def test_the_csv_download_has_the_rows_shown(stack: WebStack) -> None:
    browser = await stack.logged_in("sup1")
    answer = await browser.request("GET", "/api/reports.csv?from=2026-11-24&to=2026-11-24&group=queue")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="report-2026-11-24-2026-11-24-queue.csv"' == answer.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(row["group"], row["offered"], row["answered"], row["abandoned"]) for row in table] == [
        ("sales", "2", "1", "1"),
        ("support", "2", "2", "0"),
    ]
    support = table[1]
    assert float(support["sl_offered"]) == 0.5 and float(support["aht_seconds"]) == 150.0


async def test_the_page_draws_the_charts_and_tables_and_links_the_csv(stack: WebStack) -> None:
    browser = await stack.logged_in("sup1")
    page = await browser.request("GET", "/reports?from=2026-11-24&to=2026-11-24", accept="text/html")
    assert page.status == 200
    assert page.text.count('<svg class="chart"') == 2
    assert "Calls and service level (sl_offered) per interval" in page.text and "AHT per interval" in page.text
    assert 'id="report-table"' in page.text and 'id="report-agents"' in page.text
    assert 'href="/api/reports.csv?from=2026-11-24&amp;to=2026-11-24"' in page.text


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("from=2026-13-01", 400, "is not a date"),
        ("from=2026-11-24&to=2026-11-20", 400, "must not be before"),
        ("from=2020-01-01&to=2026-11-24", 400, "at most"),
        ("group=week", 400, "group: one of"),
        ("color=red", 400, "unknown parameter"),
    ],
)
async def test_bad_report_parameters_are_a_clear_400(stack: WebStack, query: str, status: int, message: str) -> None:
    browser = await stack.logged_in("boss")
    answer = await browser.request("GET", f"/api/reports?{query}")
    assert answer.status == status and message in answer.json()["error"]
    page = await browser.request("GET", f"/reports?{query}", accept="text/html")
    assert page.status == status and message in page.text
