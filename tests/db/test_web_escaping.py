"""Hostile text in the web pages: a line (number) key and caller data carrying HTML, written through the real
RecordWriter and rollups into PostgreSQL, come out of the report page, its charts and JSON escaped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.dialplan.loader import load_dialplan
from callcenter.records import CallRecord, CallStep, IvrStep, Outcome, StepKind
from callcenter.store.rollups import RollupSettings, process_marks
from callcenter.store.writer import RecordWriter
from tests.db.web_stack import NODE, REPORT_NOW, SAMPLE, WebStack, web_stack

SCRIPT = "<script>alert(1)</script>"
# The service stores only normalized line numbers; a key like this one could only come from a bad replay or a
# hand-edited row. The page must be safe whatever the database holds.
LINE = f'"><img src=x onerror=alert(2)>{SCRIPT}'
AT = REPORT_NOW.replace(hour=10, minute=1)


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[WebStack]:
    engine = create_async_engine(database_url)
    try:
        writer = RecordWriter(database_url, tmp_path / "spool")
        connected, ended = AT + timedelta(seconds=5), AT + timedelta(seconds=65)
        writer.submit(CallStep(NODE, "hostile-1", AT, StepKind.QUEUED, "support", position=1))
        writer.submit(CallStep(NODE, "hostile-1", connected, StepKind.CONNECTED, "support", "1001", seconds=5))
        writer.submit(CallStep(NODE, "hostile-1", ended, StepKind.ENDED, "support", "1001", seconds=60))
        writer.submit(
            CallRecord(
                NODE, "hostile-1", "hostile-1", LINE, LINE, f"'; DROP TABLE calls; --{SCRIPT}", SCRIPT,
                AT - timedelta(seconds=5), ended, Outcome.ANSWERED, ivr_path=(IvrStep("main", "2"),),
                queue="support", agent="1001", queued_at=AT, connected_at=connected,
            )
        )  # fmt: skip
        assert await writer.flush()
        settings = RollupSettings.from_dialplan(load_dialplan(SAMPLE))
        for _ in range(20):
            async with engine.begin() as connection:
                if await connection.run_sync(process_marks, settings, 500) == 0:
                    break
    finally:
        await engine.dispose()
    async with web_stack(database_url, tmp_path) as started:
        yield started


async def test_hostile_caller_and_line_text_in_the_database_never_reaches_a_page_as_markup(stack: WebStack) -> None:
    browser = await stack.logged_in("boss")
    for group in ("number", "queue", "agent", "interval"):
        page = await browser.request("GET", f"/reports?from=2026-11-24&to=2026-11-24&group={group}", accept="text/html")
        assert page.status == 200, group
        assert SCRIPT not in page.text and "<img" not in page.text and "DROP TABLE" not in page.text, group
    rows = (await browser.request("GET", "/api/reports?group=queue")).json()["rows"]
    assert [(row["group"], row["answered"]) for row in rows] == [("support", 1)]  # the hostile call is counted


async def test_hostile_query_parameters_are_escaped_where_the_page_repeats_them(stack: WebStack) -> None:
    browser = await stack.logged_in("boss")
    page = await browser.request("GET", f"/reports?from={SCRIPT}", accept="text/html")
    assert page.status == 400
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and SCRIPT not in page.text
