"""Faults while calls are up (issue 7): Asterisk killed mid-conversation, the service killed mid-call, and
PostgreSQL away while calls come and go. Each ends with the records checked in PostgreSQL.

``CC_FAULT_DB_OUTAGE_S`` sets how long PostgreSQL stays down: 60 s by default, as issue 7 asks (the writer
gives up retrying within seconds and spools; the outage's length is what the spool and the replay must bear).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from callcenter.config import Settings
from callcenter.kpi.contacts import ContactOutcome, contacts_from_steps
from callcenter.records import IN_PROGRESS, CallStep, StepKind
from callcenter.stack import Stack
from callcenter.store.tables import agent_events, call_steps, calls
from callcenter.store.writer import RecordWriter
from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.sipp import CallScript, SippResult, run_sipp
from tests.e2e.test_acd import PHONE, DeskPhone, agent_phone
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

__all__ = ["agent_phone"]  # the fixture, imported for the tests here

DB_OUTAGE_S = float(os.environ.get("CC_FAULT_DB_OUTAGE_S", "60"))


def _answer_until_bye(phone: DeskPhone, timeout_s: int) -> SippResult:
    """The phone answers one call and stays on it until a BYE, or ``timeout_s`` (a BYE that never comes)."""
    return run_sipp(
        "phone_answer_until_bye.xml",
        phone.target,
        "answer",
        phone.extension,
        phone.work_dir,
        local_ip=PHONE,
        timeout_s=timeout_s,
        extra=(*phone.credentials, "-p", str(phone.port)),
    )


def _call(target: tuple[str, int], caller: str, sipp_dir: Path, script: CallScript, timeout_s: int) -> SippResult:
    return run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, script, timeout_s=timeout_s)


def _linkedid(service: ServiceProcess, pattern: str, start: int) -> str:
    found = re.search(pattern, service.wait_for(pattern, start=start))
    assert found is not None
    return found.group(1)


def _kill_asterisk(stack: Stack) -> None:
    """SIGKILL, as a crash: no Hangup events, no BYEs; the FastAGI sockets just close."""
    pid = stack.asterisk.pid
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    stack.asterisk.stop()  # reaps it


@pytest.mark.timeout(200)
def test_asterisk_killed_mid_conversation_the_calls_it_cut_are_closed_and_the_agent_takes_a_new_call(
    agent_phone: DeskPhone,
    stack: Stack,
    service: ServiceProcess,
    settings: Settings,
    target: tuple[str, int],
    sipp_dir: Path,
    tmp_path: Path,
) -> None:
    talking, waiting, after = new_caller(), new_caller(), new_caller()
    with ThreadPoolExecutor(4) as pool:
        mark = service.mark()
        pool.submit(_answer_until_bye, agent_phone, 45)
        pool.submit(_call, target, talking, sipp_dir, CallScript(keys=((1500, "2"),), hang_up_after_ms=60000), 45)
        service.wait_for(r"agent 1001 is on_call", start=mark, timeout=30)
        mark = service.mark()
        pool.submit(_call, target, waiting, sipp_dir, CallScript(keys=((1500, "2"),), hang_up_after_ms=60000), 45)
        service.wait_for(r"caller \S+ waits in support", start=mark, timeout=30)
        # A restart of the service first: the conversation is then one only AMI knows about (resumed), whose
        # end while AMI is away no Hangup event will tell.
        assert service.stop() == 0
        mark = service.mark()
        service.start()
        service.wait_for(r"call \S+ with agent 1001 goes on after the restart", start=mark, timeout=30)
        service.wait_for(r"is back in support after a restart", start=mark, timeout=30)

        killed_at = datetime.now(UTC)
        mark = service.mark()
        _kill_asterisk(stack)
        service.wait_for(r"AMI connection to .* lost; reconnecting with backoff", start=mark)
        stack.write_asterisk_config()
        stack.asterisk.start()
        stack.asterisk.wait_ready(settings.ami_port)
        service.wait_for(r"AMI reconnected", start=mark, timeout=30)
        reconnected = time.monotonic()
        service.wait_for(r"live calls resynced after an AMI reconnect: 1 ended while AMI was away", start=mark)
        service.wait_for(r"call \S+ with agent 1001 ended \(resumed after a restart\)", start=mark)
        service.wait_for(r"agent 1001 is wrap_up", start=mark)

        # The phone registers again (as a real one does after losing its server), and takes the next caller.
        phone = DeskPhone(settings, "1001", stack.secrets.phone_passwords["1001"], tmp_path / "again")
        phone.work_dir.mkdir()
        phone.register()
        answering = pool.submit(phone.answer_one_call)
        result = _call(target, after, sipp_dir, CallScript(keys=((1500, "2"),)), 60)
        assert result.ok, result.output
        assert answering.result(timeout=60).ok
        answered_within = time.monotonic() - reconnected
    # The cut conversation is closed as answered, ended at the crash (found at the reconnect); the waiting
    # caller as abandoned; the new call answered by the agent within the wrap-up (15 s) and some seconds.
    cut = wait_for_record(talking)
    assert (cut["outcome"], cut["agent"], cut["queue"]) == ("answered", "1001", "support")
    assert killed_at <= datetime.fromisoformat(cut["ended_at"])
    assert cut["steps"][-1]["step"] == "ended"
    left = wait_for_record(waiting)
    assert (left["outcome"], left["outcome_reason"]) == ("abandoned", "in_queue")
    assert killed_at <= datetime.fromisoformat(left["ended_at"])
    new = wait_for_record(after)
    assert (new["outcome"], new["agent"]) == ("answered", "1001")
    assert answered_within < 45, answered_within


def _rows(url: str, query: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]
    finally:
        engine.dispose()


@pytest.mark.timeout(200)
def test_the_service_killed_mid_call_keeps_callers_out_of_dead_air_and_comes_back_with_agents_and_callbacks(
    agent_phone: DeskPhone,
    stack: Stack,
    service: ServiceProcess,
    settings: Settings,
    target: tuple[str, int],
    sipp_dir: Path,
    tmp_path: Path,
) -> None:
    url = settings.database_dsn(stack.secrets)
    other = DeskPhone(settings, "1003", stack.secrets.phone_passwords["1003"], tmp_path)
    mark = service.mark()
    other.dial_code("*50")
    other.dial_code("*5207")
    service.wait_for(r"agent 1003 is paused \(07\)", start=mark)
    talking, asking, waiting = new_caller(), new_caller(), new_caller()
    full_log = stack.asterisk.log_file.with_name("full")
    try:
        with ThreadPoolExecutor(4) as pool:
            mark = service.mark()
            phone = pool.submit(_answer_until_bye, agent_phone, 70)
            conversation = pool.submit(
                _call, target, talking, sipp_dir, CallScript(keys=((1500, "2"),), hang_up_after_ms=40000), 70
            )
            service.wait_for(r"agent 1001 is on_call", start=mark, timeout=30)
            # The agent is busy: a second caller asks for a callback, a third waits.
            asked = _call(target, asking, sipp_dir, CallScript(keys=((1500, "2"), (6000, "1"))), 40)
            assert asked.ok, asked.output
            service.wait_for(rf"asked for a callback to \+{asking}", start=mark)
            mark = service.mark()
            caller = pool.submit(
                _call, target, waiting, sipp_dir, CallScript(keys=((1500, "2"),), hang_up_after_ms=22000), 60
            )
            queued = _linkedid(service, r"caller (\S+) waits in support", mark)
            _wait_for_step(url, settings.node, queued, "queued")  # in line (the log line comes a moment before)

            log_start = full_log.stat().st_size
            assert service.signal_stop(signal.SIGKILL) == -signal.SIGKILL
            time.sleep(3)  # down for a while: the waiting caller is in the dialplan's fallback meanwhile
            mark = service.mark()
            service.start()
            service.wait_for(r"agent 1003 restored as paused", start=mark, timeout=30)
            service.wait_for(r"agent 1003 is paused \(07\)", start=mark)
            service.wait_for(r"agent 1001 restored as logged in", start=mark)
            restored = service.wait_for(r"\d+ callback\(s\) waiting again", start=mark)
            service.wait_for(r"call \S+ with agent 1001 goes on after the restart", start=mark, timeout=30)
            service.wait_for(r"agent 1001 is on_call", start=mark)
            back = _linkedid(service, r"caller (\S+) is back in support after a restart", mark)
            assert caller.result(timeout=70).ok
            assert conversation.result(timeout=70).ok
            assert phone.result(timeout=70).ok
            ended = _linkedid(service, r"call (\S+) with agent 1001 ended \(resumed after a restart\)", mark)
            # Stop before the agent's wrap-up (15 s) ends: the restored callback would ring the phone.
            service.wait_for(r"agent 1001 is wrap_up", start=mark)
            pending = _rows(
                url,
                "SELECT status FROM callbacks WHERE node = :node AND number LIKE :number",
                node=settings.node,
                number=f"%{asking}",
            )
    finally:
        _forget_callbacks(service, url)
        mark = service.mark()
        other.dial_code("*51")
        service.wait_for(r"agent 1003 is logged_out", start=mark)
    assert int(restored.split()[-4]) >= 1, restored
    assert pending == [("pending",)]
    with full_log.open(errors="replace") as log:
        log.seek(log_start)
        heard = log.read()
    assert "cc-requeue" in heard and "MusicOnHold" in heard  # music while the service was away, no dead air
    # Their steps: the waiting caller queued before and after the kill, then gone; the conversation queued,
    # offered and connected (written when AMI said who answered, before the kill), then ended.
    steps = "SELECT step FROM call_steps WHERE node = :node AND linkedid = :linkedid ORDER BY at, id"
    waited = [row[0] for row in _rows(url, steps, node=settings.node, linkedid=back)]
    assert waited.count("queued") == 2 and waited[-1] == "abandoned", waited
    talked = [row[0] for row in _rows(url, steps, node=settings.node, linkedid=ended)]
    assert talked[0] == "queued" and {"offered", "connected"} <= set(talked) and talked[-1] == "ended", talked
    assert wait_for_record(asking)["outcome"] == "callback"


def test_a_caller_waiting_when_the_service_is_killed_still_gets_a_call_record(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    with ThreadPoolExecutor(1) as pool:
        mark = service.mark()
        waiting = pool.submit(
            _call, target, caller, sipp_dir, CallScript(keys=((1500, "2"),), hang_up_after_ms=15000), 40
        )
        service.wait_for(r"caller \S+ waits in support", start=mark, timeout=30)
        assert service.signal_stop(signal.SIGKILL) == -signal.SIGKILL
        mark = service.mark()
        service.start()
        service.wait_for(r"is back in support after a restart", start=mark, timeout=30)
        assert waiting.result(timeout=45).ok
    record = wait_for_record(caller)
    # The row written when the caller entered the queue, amended by the restarted service: how the wait ended
    # (the caller hung up, or the queue overflowed to voicemail when nobody was logged in), and one contact.
    ends = {"abandoned": ("abandoned", "in_queue"), "overflowed": ("voicemail", "overflow_no_agents")}
    steps = record["steps"]
    # (queued once or twice: the step of the first entry may not have been journalled yet at the kill)
    assert steps[0]["step"] == "queued" and steps[-1]["step"] in ends, steps
    assert (record["outcome"], record["outcome_reason"], record["queue"]) == (*ends[steps[-1]["step"]], "support")
    ended, last_step = datetime.fromisoformat(record["ended_at"]), datetime.fromisoformat(steps[-1]["at"])
    assert timedelta(0) <= ended - last_step < timedelta(seconds=5)  # amended at the wait's end, not the entry
    [contact] = contacts_from_steps(
        [CallStep(record["node"], record["linkedid"], datetime.fromisoformat(s["at"]), StepKind(s["step"]),
                  s["queue"], s["agent"], s["position"], s["seconds"], s["result"]) for s in steps]
    )  # fmt: skip
    assert contact.outcome in (ContactOutcome.ABANDONED, ContactOutcome.OVERFLOWED)


def _wait_for_step(url: str, node: str, linkedid: str, step: str, timeout: float = 10.0) -> None:
    query = "SELECT 1 FROM call_steps WHERE node = :node AND linkedid = :linkedid AND step = :step"
    deadline = time.monotonic() + timeout
    while not _rows(url, query, node=node, linkedid=linkedid, step=step):
        assert time.monotonic() < deadline, f"no {step} step of {linkedid} within {timeout} s"
        time.sleep(0.2)


def _forget_callbacks(service: ServiceProcess, url: str) -> None:
    """The callback this test left would ring the agents of later tests: the service forgets it."""
    assert service.stop() == 0
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE callbacks SET status = 'failed' WHERE status IN ('pending', 'dialling')"))
    finally:
        engine.dispose()
    mark = service.mark()
    service.start()
    service.wait_for(r"AMI connected", start=mark, timeout=30)


def _counts(url: str, callers: list[str], since: datetime) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            linkedids = select(calls.c.linkedid).where(calls.c.caller_number.in_(callers))
            return {
                "calls": connection.execute(
                    select(func.count()).select_from(calls).where(calls.c.caller_number.in_(callers))
                ).scalar_one(),
                "ended": connection.execute(
                    select(func.count())
                    .select_from(calls)
                    .where(calls.c.caller_number.in_(callers), calls.c.outcome_reason != IN_PROGRESS)
                ).scalar_one(),
                "steps": connection.execute(
                    select(func.count()).select_from(call_steps).where(call_steps.c.linkedid.in_(linkedids))
                ).scalar_one(),
                "agent_1003": connection.execute(
                    select(func.count())
                    .select_from(agent_events)
                    .where(agent_events.c.agent == "1003", agent_events.c.at >= since)
                ).scalar_one(),
            }
    finally:
        engine.dispose()


def _spooled_gauge(settings: Settings) -> float:
    url = f"http://{settings.metrics_host}:{settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        exposition = response.read().decode()
    found = re.search(r"^callcenter_records_spooled (\S+)$", exposition, re.MULTILINE)
    assert found is not None, exposition[:2000]
    return float(found.group(1))


async def _replay(url: str, spool: Path) -> tuple[int, bool]:
    """A journal replayed by a writer of its own: (records recovered, all written)."""
    replay = RecordWriter(url, spool)
    try:
        recovered = replay.recover()
        return recovered, await replay.flush()
    finally:
        replay.close()


@pytest.mark.timeout(DB_OUTAGE_S + 150)
def test_calls_during_a_database_outage_and_a_kill_are_written_once_when_it_returns(
    stack: Stack, service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path, tmp_path: Path
) -> None:
    assert stack.database is not None
    url = settings.database_dsn(stack.secrets)
    other = DeskPhone(settings, "1003", stack.secrets.phone_passwords["1003"], tmp_path)
    callers = [new_caller() for _ in range(6)]
    since = datetime.now(UTC)
    mark = service.mark()
    stack.database.stop()
    down_at = time.monotonic()
    try:
        other.dial_code("*50")
        other.dial_code("*5207")
        service.wait_for(r"agent 1003 is paused \(07\)", start=mark)
        # The calls go on as ever: through the menu into the support queue (nobody there) and out again.
        with ThreadPoolExecutor(3) as pool:
            script = CallScript(keys=((1000, "2"),))
            results = list(pool.map(lambda caller: _call(target, caller, sipp_dir, script, 60), callers))
        assert all(result.ok for result in results), [r.output for r in results if not r.ok][:1]
        service.wait_for(r"PostgreSQL unreachable; spooling call records", start=mark, timeout=20)
        time.sleep(max(0.0, DB_OUTAGE_S - (time.monotonic() - down_at)))  # the outage's length is the test
        assert _spooled_gauge(settings) > 0
        # Killed in the outage: what it knew is in the spool only. A copy, to replay once more below.
        assert service.signal_stop(signal.SIGKILL) == -signal.SIGKILL
        snapshot = tmp_path / "spool-copy"
        shutil.copytree(settings.spool_dir, snapshot)
        mark = service.mark()
        service.start()
        replaying = service.wait_for(r"replaying \d+ call records spooled by an earlier run", start=mark)
        # Agent states come back from the spool while PostgreSQL is still away.
        service.wait_for(r"agent 1003 restored as paused", start=mark, timeout=30)
        service.wait_for(r"agent 1003 is paused \(07\)", start=mark)
        service.wait_for(r"AMI connected", start=mark, timeout=30)
    finally:
        stack.database.start()
    service.wait_for(r"PostgreSQL is back after", start=mark, timeout=60)
    mark = service.mark()
    other.dial_code("*51")
    service.wait_for(r"agent 1003 is logged_out", start=mark)
    spooled = int(replaying.split("replaying ")[1].split()[0])
    assert spooled >= len(callers) * 3  # a call record and steps of each call, the agent's changes

    written = _counts(url, callers, since)
    assert written["calls"] == written["ended"] == len(callers)
    assert written["steps"] >= len(callers)  # queued (and abandoned) of each
    assert written["agent_1003"] >= 2  # logged in, paused (07)
    # Paused with its reason, and so again at the restart (from the spool): never without it.
    assert {row[0] for row in _rows(url, "SELECT reason FROM agent_events WHERE agent = '1003' AND state = 'paused' "
                                         "AND at >= :since", since=since)} == {"07"}  # fmt: skip

    # The same journal replayed again (a crash between the write and the journal's deletion) changes nothing:
    # the rows are keyed by (node, linkedid), the steps and agent changes by their time and kind.
    recovered, flushed = asyncio.run(_replay(url, snapshot))
    assert recovered == spooled and flushed
    assert _counts(url, callers, since) == written
    for caller in callers:
        assert wait_for_record(caller)["queue"] == "support"
