"""Reporting benchmark: 10 M generated calls in PostgreSQL, ingest through the service's writer, reports from the
rollups against the same reports from the raw records, all in one run (``make bench-reports``).

Phases (each printed with its figures):

1. **Load** (kept between runs when the parameters match; ``--fresh`` reloads): the seeded model of
   ``bench/datagen.py`` makes ``--calls`` calls over ``--days`` days — call records, their queue steps and the
   agents' state changes, the service's own record types — and COPY loads them into a private cluster
   (``.run/bench/``), bounded by ``--load-seconds`` (a cut load says how many calls it holds). Then the rollups
   are rebuilt from the raw rows, timed.
2. **Ingest**: one more day's first ``--ingest-calls`` calls go through ``RecordWriter`` exactly as in
   ``callcenter serve`` (journal line, batched upsert, rollup marks in the same transaction) into the loaded
   database; records per second, against the 5,000/s target. Then the incremental rollup maintainer takes the
   marks they left, timed.
3. **Reports**: a one-day report by 15-minute interval and a 30-day report by agent, each from the rollups and
   from the raw records (the baseline), ``--repeat`` times; the median of each, the ratio raw/rollups, and the
   target (one-day report <= 300 ms). The two sources' rows are compared: they must agree.

Bounded: every phase has a row or time limit and the run stops by itself. Exit status 1 only on an error or a
disagreement between rollups and raw; targets are printed as PASS/FAIL and do not change it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import shutil
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.datagen import LINES, QUEUES, CallCenterModel, GeneratedCall
from callcenter.dialplan.model import Dialplan
from callcenter.kpi.report import Grouping, ReportQuery, ReportRow
from callcenter.records import AgentEvent, CallStep
from callcenter.store import schema
from callcenter.store.cluster import PostgresCluster
from callcenter.store.reports import report
from callcenter.store.rollups import RollupSettings, process_marks, rebuild
from callcenter.store.writer import RecordWriter, record_row

__all__ = ["Params", "main"]

REPO = Path(__file__).resolve().parents[1]
RUN_DIR = REPO / ".run" / "bench"
PORT = 17433
TARGET_INGEST_PER_SECOND = 5_000
TARGET_DAY_REPORT_SECONDS = 0.300
START = datetime(2026, 1, 1, tzinfo=UTC)  # the first day of the generated traffic
REPORT_DAYS = 30  # the longest report of phase 3 reads this many days back from the last loaded day

_CALL_COLUMNS = (
    "node", "linkedid", "uniqueid", "dialled_raw", "dialled_number", "caller_number", "caller_name", "language",
    "started_at", "answered_at", "ended_at", "ivr_path", "digits", "inputs", "destination", "queue", "agent",
    "queued_at", "connected_at", "outcome", "outcome_reason",
)  # fmt: skip
_STEP_COLUMNS = ("node", "linkedid", "at", "step", "queue", "agent", "position", "seconds", "result", "detail")
_AGENT_COLUMNS = ("node", "agent", "state", "reason", "at")


@dataclass(frozen=True)
class Params:
    calls: int = 10_000_000
    days: int = 100
    seed: int = 1
    load_seconds: float = 2_400.0
    ingest_calls: int = 20_000
    repeat: int = 5
    raw_repeat: int = 3
    fresh: bool = False
    run_dir: Path = RUN_DIR  # the benchmark's own PostgreSQL cluster and spool live here
    port: int = PORT

    @property
    def calls_per_day(self) -> int:
        return -(-self.calls // self.days)

    def fingerprint(self) -> dict[str, int]:
        return {"calls": self.calls, "days": self.days, "seed": self.seed}


def _print(text_: str = "") -> None:
    print(text_, flush=True)


def _cluster(params: Params) -> tuple[PostgresCluster, str]:
    params.run_dir.mkdir(parents=True, exist_ok=True)
    password_file = params.run_dir / "password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(18))
    password = password_file.read_text().strip()
    cluster = PostgresCluster(params.run_dir / "pg", params.port, password)
    cluster.start()
    return cluster, f"postgresql+psycopg://callcenter:{password}@127.0.0.1:{params.port}/callcenter"


# --- phase 1: load ------------------------------------------------------------------------------------------


def _call_row(call: GeneratedCall) -> tuple[Any, ...]:
    row = record_row(call.record)
    row["ivr_path"] = json.dumps(row["ivr_path"])
    row["inputs"] = json.dumps(row["inputs"])
    return tuple(row[name] for name in _CALL_COLUMNS)


def _step_row(step: CallStep) -> tuple[Any, ...]:
    return (
        step.node, step.linkedid, step.at, str(step.kind), step.queue, step.agent, step.position, step.seconds,
        step.result, step.detail,
    )  # fmt: skip


def _agent_row(event: AgentEvent) -> tuple[Any, ...]:
    return (event.node, event.agent, event.state, event.reason, event.at)


def _loaded(engine: Engine) -> dict[str, Any] | None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)"))
        value = connection.execute(text("SELECT value FROM bench_meta WHERE key = 'load'")).scalar()
    return dict(value) if value is not None else None


def _truncate(engine: Engine) -> None:
    with engine.begin() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        if names:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))


def load(engine: Engine, params: Params) -> dict[str, Any]:
    """COPY the generated calls in; return what was loaded (calls, rows, seconds, whether cut short)."""
    model = CallCenterModel(seed=params.seed, calls_per_day=params.calls_per_day)
    deadline = time.monotonic() + params.load_seconds
    started = time.perf_counter()
    calls = rows = 0
    cut = False
    last = START
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # One COPY at a time on a connection: each batch of calls is copied table by table, then committed.
        with cursor.copy(f"COPY agent_events ({', '.join(_AGENT_COLUMNS)}) FROM STDIN") as copy:
            for event in model.logins(START):
                copy.write_row(_agent_row(event))
                rows += 1
        generated: Iterator[GeneratedCall] = iter(model.calls(START, params.days))
        stopped = False
        while not stopped:
            batch: list[GeneratedCall] = []
            for call in generated:
                batch.append(call)
                if len(batch) == 50_000:
                    break
            if not batch:
                break
            with cursor.copy(f"COPY calls ({', '.join(_CALL_COLUMNS)}) FROM STDIN") as copy:
                for call in batch:
                    copy.write_row(_call_row(call))
            with cursor.copy(f"COPY call_steps ({', '.join(_STEP_COLUMNS)}) FROM STDIN") as copy:
                for call in batch:
                    for step in call.steps:
                        copy.write_row(_step_row(step))
            with cursor.copy(f"COPY agent_events ({', '.join(_AGENT_COLUMNS)}) FROM STDIN") as copy:
                for call in batch:
                    for event in call.agent_events:
                        copy.write_row(_agent_row(event))
            raw.commit()
            calls += len(batch)
            rows += sum(call.size for call in batch)
            last = batch[-1].record.started_at
            if calls % 1_000_000 < 50_000:
                elapsed = time.perf_counter() - started
                _print(f"  loaded {calls:,} calls, {rows:,} rows, {elapsed:,.0f} s ({rows / elapsed:,.0f} rows/s)")
            if time.monotonic() > deadline:
                cut = stopped = True
    finally:
        raw.close()
    seconds = time.perf_counter() - started
    loaded = {
        **params.fingerprint(), "loaded_calls": calls, "rows": rows, "seconds": seconds, "cut": cut,
        "first_day": START.isoformat(), "last_call": last.isoformat(),
    }  # fmt: skip
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
        connection.execute(
            text(
                "INSERT INTO bench_meta VALUES ('load', CAST(:v AS jsonb)) ON CONFLICT (key) DO UPDATE SET value = :v"
            ),
            {"v": json.dumps(loaded)},
        )
    return loaded


# --- phase 2: ingest through the service's writer ----------------------------------------------------------


async def ingest(url: str, params: Params, day: datetime) -> dict[str, float]:
    """Write ``params.ingest_calls`` calls of ``day`` through RecordWriter; records per second."""
    model = CallCenterModel(seed=params.seed + 1, calls_per_day=params.calls_per_day)
    records: list[Any] = []
    calls = 0
    for call in model.calls(day, 1):
        records.append(call.record)
        records.extend(call.steps)
        records.extend(call.agent_events)
        calls += 1
        if calls == params.ingest_calls:
            break
    spool = params.run_dir / "spool"
    shutil.rmtree(spool, ignore_errors=True)
    engine = create_async_engine(url)
    writer = RecordWriter(url, spool)
    try:
        task = asyncio.create_task(writer.run())
        started = time.perf_counter()
        for number, record in enumerate(records, start=1):
            writer.submit(record)
            if number % 500 == 0:
                await asyncio.sleep(0)  # the flush task writes while records keep coming, as in the service
        while writer.pending:  # noqa: ASYNC110 - the writer has no "all written" event; polled every 10 ms
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
        writer.stop()
        await asyncio.wait_for(task, 30)
    finally:
        await engine.dispose()
    return {"calls": calls, "records": len(records), "seconds": seconds, "per_second": len(records) / seconds}


# --- the dialplan the reports are computed with --------------------------------------------------------------


def bench_dialplan() -> Dialplan:
    """The generated call center as a dialplan: its queues (default thresholds) and agents (queue members)."""
    model = CallCenterModel()
    members = model.members()
    return Dialplan.model_validate(
        {
            "numbers": {line: {"name": f"line {n}", "menu": "main"} for n, line in enumerate(LINES, start=1)},
            "menus": {"main": {"greeting": ["hello"], "options": {"1": {"action": "queue", "queue": QUEUES[0]}}}},
            "queues": {queue: {"name": queue} for queue in QUEUES},
            "agents": [
                {"extension": extension, "name": f"Agent {extension}", "queues": [queue]}
                for extension, queue in sorted(members.items())
            ],
        }
    )


# --- phase 3: reports ----------------------------------------------------------------------------------------

# The baseline: the same figures straight from the raw rows in one SQL statement each, as a report without
# rollups would have to compute them. They cover what plain SQL can say simply (offered, answered,
# abandoned, ASA; answered and conversation time per agent: each generated call visits one queue), and
# they are an independent check of the rollups: the two must agree.
RAW_BY_INTERVAL = text(
    """
    SELECT date_bin('15 minutes', q.at, TIMESTAMPTZ '2000-01-01 00:00+00') AS interval_start,
           count(*) AS offered, count(c.id) AS answered, count(a.id) AS abandoned, avg(c.seconds) AS asa
    FROM call_steps q
    LEFT JOIN call_steps c ON c.node = q.node AND c.linkedid = q.linkedid AND c.step = 'connected' AND c.queue = q.queue
    LEFT JOIN call_steps a ON a.node = q.node AND a.linkedid = q.linkedid AND a.step = 'abandoned' AND a.queue = q.queue
    WHERE q.step = 'queued' AND q.at >= :start AND q.at < :end
    GROUP BY 1 ORDER BY 1
    """
)
RAW_BY_AGENT = text(
    """
    SELECT c.agent, count(*) AS answered, sum(e.seconds) AS conversation
    FROM call_steps c
    JOIN call_steps q ON q.node = c.node AND q.linkedid = c.linkedid AND q.step = 'queued' AND q.queue = c.queue
    LEFT JOIN call_steps e ON e.node = c.node AND e.linkedid = c.linkedid AND e.step = 'ended' AND e.agent = c.agent
    WHERE c.step = 'connected' AND q.at >= :start AND q.at < :end
    GROUP BY c.agent ORDER BY c.agent
    """
)


@dataclass(frozen=True)
class Timing:
    name: str
    rollups: list[float]
    raw: list[float]
    rows: int
    agree: bool

    @property
    def ratio(self) -> float:
        return statistics.median(self.raw) / statistics.median(self.rollups)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _interval_figures(rows: Sequence[ReportRow]) -> list[tuple[Any, ...]]:
    return [
        (row.start.astimezone(UTC) if row.start else None, row.contacts.offered, row.contacts.answered,
         row.contacts.abandoned, row.kpis.asa_seconds)
        for row in rows
        if row.contacts.offered
    ]  # fmt: skip


def _agent_figures(rows: Sequence[ReportRow]) -> list[tuple[Any, ...]]:
    return [
        (row.key, row.contacts.answered, row.contacts.talk_seconds + row.contacts.hold_seconds)
        for row in rows
        if row.contacts.answered
    ]


def _agree(left: Sequence[tuple[Any, ...]], right: Sequence[tuple[Any, ...]]) -> bool:
    if len(left) != len(right):
        return False
    for a, b in zip(left, right, strict=True):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) or isinstance(y, float):
                if not _close(None if x is None else float(x), None if y is None else float(y)):
                    return False
            elif x != y:
                return False
    return True


def time_report(
    engine: Engine, dialplan: Dialplan, name: str, query: ReportQuery, repeat: int, raw_repeat: int
) -> Timing:
    """The report from the rollups ``repeat`` times, its raw-SQL baseline ``raw_repeat`` times; do they agree."""
    by_agent = query.by is Grouping.AGENT
    statement = RAW_BY_AGENT if by_agent else RAW_BY_INTERVAL
    fast: list[float] = []
    slow: list[float] = []
    with engine.connect() as connection:
        rows = report(connection, dialplan, query)  # warms the caches, as a page viewed twice would
        for _ in range(repeat):
            started = time.perf_counter()
            rows = report(connection, dialplan, query)
            fast.append(time.perf_counter() - started)
        raw: list[Any] = []
        for _ in range(raw_repeat):
            started = time.perf_counter()
            raw = list(connection.execute(statement, {"start": query.start, "end": query.end}))
            slow.append(time.perf_counter() - started)
    ours: list[tuple[Any, ...]]
    theirs: list[tuple[Any, ...]]
    if by_agent:
        ours = _agent_figures(rows)
        theirs = [(r.agent, r.answered, float(r.conversation or 0.0)) for r in raw]
    else:
        ours = _interval_figures(rows)
        theirs = [
            (r.interval_start, r.offered, r.answered, r.abandoned, None if r.asa is None else float(r.asa)) for r in raw
        ]
    return Timing(name, fast, slow, len(rows), _agree(ours, theirs))


# --- the run -----------------------------------------------------------------------------------------------------


def _rebuild(engine: Engine, dialplan: Dialplan, start: datetime) -> tuple[float, str]:
    started = time.perf_counter()
    with engine.begin() as connection:
        done = rebuild(connection, dialplan, start)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM rollup_marks"))  # the COPY wrote no marks; a rebuild needs none
        connection.execute(text("ANALYZE"))
    return (
        time.perf_counter() - started,
        f"{done.calls:,} calls, {done.contacts:,} contacts, {done.intervals:,} intervals",
    )


def _catch_up(engine: Engine, dialplan: Dialplan) -> tuple[float, int]:
    """Process every rollup mark the ingest left, as the service's maintainer does; seconds and marks."""
    settings = RollupSettings.from_dialplan(dialplan)
    started = time.perf_counter()
    total = 0
    while True:
        with engine.begin() as connection:
            done = process_marks(connection, settings)
        total += done
        if not done:
            return time.perf_counter() - started, total


def _midnight(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run(params: Params) -> int:
    _print(f"reports benchmark: {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    cluster, url = _cluster(params)
    schema.upgrade(url)
    engine = create_engine(url)
    dialplan = bench_dialplan()
    try:
        loaded = _loaded(engine)
        if params.fresh or loaded is None or {k: loaded.get(k) for k in params.fingerprint()} != params.fingerprint():
            bound = f"bounded: {params.load_seconds:,.0f} s"
            _print(f"phase 1: loading {params.calls:,} calls over {params.days} days ({bound})")
            _truncate(engine)
            loaded = load(engine, params)
            _print(
                f"  COPY: {loaded['loaded_calls']:,} calls, {loaded['rows']:,} rows in {loaded['seconds']:,.0f} s "
                f"({loaded['rows'] / loaded['seconds']:,.0f} rows/s)"
                f"{' - CUT by the time limit' if loaded['cut'] else ''}"
            )
            # The rollups of the days the reports read (a rebuild costs ~0.35 ms a call here: all 100 days of
            # 10 M calls would take an hour; older days' rollups are rows no report of this run reads).
            since = _midnight(datetime.fromisoformat(loaded["last_call"])) - timedelta(days=REPORT_DAYS)
            seconds, what = _rebuild(engine, dialplan, since)
            _print(f"  rollups rebuilt from the raw rows since {since.date()} in {seconds:,.1f} s: {what}")
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE bench_meta SET value = value || CAST(:v AS jsonb) WHERE key = 'load'"),
                    {"v": json.dumps({"rebuild_seconds": seconds})},
                )
        else:
            _print(
                f"phase 1: reusing the loaded {loaded['loaded_calls']:,} calls ({loaded['rows']:,} rows; "
                f"rebuild took {loaded.get('rebuild_seconds', 0):,.1f} s); --fresh reloads"
            )
        with engine.connect() as connection:
            counts = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM call_steps),"
                    " (SELECT count(*) FROM agent_events)"
                )
            ).one()
        _print(f"  in PostgreSQL: {counts[0]:,} calls, {counts[1]:,} call steps, {counts[2]:,} agent events")

        last_call = datetime.fromisoformat(loaded["last_call"])
        ingest_day = _midnight(last_call) + timedelta(days=1)
        with engine.begin() as connection:  # an earlier run's ingest day goes, so each run ingests new records
            for table, column in (("call_steps", "at"), ("agent_events", "at"), ("calls", "started_at")):
                connection.execute(text(f"DELETE FROM {table} WHERE {column} >= :day"), {"day": ingest_day})
        _catch_up(engine, dialplan)
        _print(f"phase 2: {params.ingest_calls:,} calls of {ingest_day.date()} through RecordWriter")
        ingested = asyncio.run(ingest(url, params, ingest_day))
        per_second = ingested["per_second"]
        _print(
            f"  {ingested['records']:,.0f} records in {ingested['seconds']:.2f} s: {per_second:,.0f} records/s "
            f"= {per_second / TARGET_INGEST_PER_SECOND:.2f} x the 5,000/s target  "
            f"{_verdict(per_second >= TARGET_INGEST_PER_SECOND)}"
        )
        seconds, marks = _catch_up(engine, dialplan)
        _print(f"  rollups caught up with them incrementally: {marks:,} marks in {seconds:.2f} s")

        day = _midnight(last_call)
        timings = [
            time_report(
                engine, dialplan, "one day by interval", ReportQuery(day, day + timedelta(days=1), Grouping.INTERVAL),
                params.repeat, params.raw_repeat,
            ),
            time_report(
                engine, dialplan, "30 days by agent",
                ReportQuery(day - timedelta(days=REPORT_DAYS - 1), day + timedelta(days=1), Grouping.AGENT),
                params.repeat, params.raw_repeat,
            ),
        ]  # fmt: skip
        _print(f"phase 3: reports (medians of {params.repeat} runs from the rollups, {params.raw_repeat} of raw SQL)")
        failed = False
        for timing in timings:
            fast = statistics.median(timing.rollups)
            _print(
                f"  {timing.name}: rollups {fast * 1000:,.1f} ms, raw {statistics.median(timing.raw):,.2f} s, "
                f"raw/rollups {timing.ratio:,.0f} x, {timing.rows} rows, rollups agree with raw SQL: {timing.agree}"
            )
            failed |= not timing.agree
        day_report = statistics.median(timings[0].rollups)
        _print(
            f"  one-day report {day_report * 1000:.1f} ms = {day_report / TARGET_DAY_REPORT_SECONDS:.2f} x the "
            f"300 ms target  {_verdict(day_report <= TARGET_DAY_REPORT_SECONDS)}"
        )
        return 1 if failed else 0
    finally:
        engine.dispose()
        cluster.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports_bench", description=__doc__.split("\n\n")[0])
    defaults = Params()
    parser.add_argument("--calls", type=int, default=defaults.calls, help="calls to load (default 10,000,000)")
    parser.add_argument("--days", type=int, default=defaults.days, help="days they span (default 100)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--load-seconds", type=float, default=defaults.load_seconds, help="bound of the load")
    parser.add_argument("--ingest-calls", type=int, default=defaults.ingest_calls, help="calls through the writer")
    parser.add_argument("--repeat", type=int, default=defaults.repeat, help="runs of each report from the rollups")
    parser.add_argument("--raw-repeat", type=int, default=defaults.raw_repeat, help="runs of each raw-SQL baseline")
    parser.add_argument("--fresh", action="store_true", help="reload even if the loaded data has these parameters")
    parser.add_argument("--quick", action="store_true", help="60,000 calls over 2 days: a smoke run of a minute")
    parser.add_argument("--run-dir", type=Path, default=RUN_DIR, help="where its PostgreSQL cluster lives")
    parser.add_argument("--port", type=int, default=PORT, help="its PostgreSQL port (loopback)")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.days, args.ingest_calls, args.repeat, args.raw_repeat = 60_000, 2, 2_000, 2, 1
    params = Params(
        args.calls, args.days, args.seed, args.load_seconds, args.ingest_calls, args.repeat, args.raw_repeat,
        args.fresh, args.run_dir, args.port,
    )  # fmt: skip
    return run(params)


if __name__ == "__main__":
    sys.exit(main())
