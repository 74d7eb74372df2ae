"""Supervisors listen, whisper and barge end to end, with what each phone received measured rather than assumed.

The caller (the carrier's SIPp) speaks a 500 Hz tone, agent 1001 a 1000 Hz one, the supervisor a 1700 Hz
one. RTP is sniffed on loopback (tests/e2e/audio.py) and the supervisor's tone measured with sox in what the
caller's and the agent's phones received: listen, in neither; whisper, in the agent's only; barge, in both.
The supervisor switches modes by DTMF (5 whisper, 6 barge) during the session; every switch is in the
stored session. A supervisor outside the agent's queues is refused, and the refusal audited.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.audio import TONE_THRESHOLD, RtpCapture, sent_media_port, tone_level
from tests.e2e.conftest import SUPERVISOR_PIN, wait_for_record
from tests.e2e.media import write_media_pcap
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_acd import PHONE, DeskPhone
from tests.e2e.test_acd_routing import Agents, agents
from tests.e2e.test_inbound_ivr import new_caller
from tests.e2e.test_recording import Api, api

pytestmark = pytest.mark.e2e

__all__ = ["agents", "api"]  # the fixtures, imported for the tests here

CARRIER = "127.0.0.2"
CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 500.0, 1000.0, 1700.0


def poll_rows(stack: Stack, query: str, values: dict[str, Any], ready: Callable[[list[Any]], bool]) -> list[Any]:
    """The rows of ``query`` once ``ready`` says they are all there (the writer batches), or after 20 s."""
    engine = create_engine(stack.settings.database_dsn(stack.secrets))
    deadline = time.monotonic() + 20
    try:
        while True:
            with engine.connect() as connection:
                rows = list(connection.execute(text(query), values).mappings())
            if ready(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.3)
    finally:
        engine.dispose()


def sessions_of(stack: Stack, agent: str, since: datetime) -> list[Any]:
    """Monitoring sessions on ``agent`` started at ``since`` or later, once ended, oldest first."""
    query = "SELECT * FROM monitor_sessions WHERE agent = :agent AND started_at >= :since ORDER BY started_at"
    rows = poll_rows(stack, query, {"agent": agent, "since": since}, lambda rows: bool(rows) and all(
        row["ended_at"] is not None for row in rows))  # fmt: skip
    assert rows and all(row["ended_at"] is not None for row in rows), f"no ended session on {agent}: {rows}"
    return rows


def audit_of(stack: Stack, target: str, since: datetime, count: int) -> list[Any]:
    """The audit log's monitoring decisions on ``target`` since ``since``, once there are ``count``."""
    query = "SELECT * FROM audit_log WHERE action = 'monitor.start' AND target = :target AND at >= :since ORDER BY at"
    return poll_rows(stack, query, {"target": target, "since": since}, lambda rows: len(rows) >= count)


@pytest.fixture
def anna(agents: Agents) -> Iterator[DeskPhone]:
    phone = agents.phone("1001")
    agents.log_in(phone)
    yield phone


def _heard(capture: RtpCapture, legs: dict[str, tuple[str, int]], start: float, end: float, work: Path) -> set[str]:
    """The legs in which the supervisor's tone was heard over start..end (epoch seconds)."""
    found = set()
    for leg, (address, port) in legs.items():
        pcm = capture.pcm(address, start, end, port=port)
        assert len(pcm) >= 2 * 8000 * 0.8 * (end - start), f"the {leg}'s leg got too little audio"
        level = tone_level(pcm, SUPERVISOR_HZ, work / leg)
        print(f"{leg} leg, {end - start:.1f} s from {start:.1f}: supervisor's tone at {level:.4f}")
        if level >= TONE_THRESHOLD:
            found.add(leg)
    return found


def test_the_supervisors_tone_reaches_nobody_in_listen_the_agent_in_whisper_and_both_in_barge(
    agents: Agents,
    anna: DeskPhone,
    api: Api,
    stack: Stack,
    settings: Settings,
    target: tuple[str, int],
    sipp_dir: Path,
) -> None:
    boss = agents.phone("1901")
    caller = new_caller()
    since = datetime.now().astimezone()
    agent_voice, boss_voice = sipp_dir / "agent.pcap", sipp_dir / "boss.pcap"
    write_media_pcap(agent_voice, tone_hz=AGENT_HZ, seconds=40)
    # The supervisor speaks throughout; 5 switches to whisper at 7 s, 6 to barge at 14 s; hangs up at 21 s.
    write_media_pcap(boss_voice, tone_hz=SUPERVISOR_HZ, seconds=22, keys=[(7000, "5"), (14000, "6")])
    script = CallScript(keys=((1500, "2"),), tone_hz=CALLER_HZ, tone_seconds=60)
    with RtpCapture({CARRIER, PHONE}, max_seconds=120) as capture, ThreadPoolExecutor(3) as pool:
        answering = pool.submit(anna.answer_and_talk, agent_voice, 32000)
        calling = pool.submit(run_sipp, "carrier_call.xml", target, "88005553535", caller, sipp_dir, script)
        api.wait_on_call("1001")
        supervising = pool.submit(boss.answer_and_talk, boss_voice, 21000)
        status, started = api.call("POST", "/api/monitor", {"supervisor": "1901", "agent": "1001", "mode": "listen"})
        assert status == 202, started
        supervised = supervising.result(timeout=90)
        call, answered = calling.result(timeout=90), answering.result(timeout=90)
    assert supervised.ok, supervised.output
    assert call.ok, call.output
    assert answered.ok, answered.output
    record = wait_for_record(caller)

    [session] = sessions_of(stack, "1001", since)
    assert (session["session_id"], session["supervisor"], session["via"]) == (started["session_id"], "1901", "api")
    assert session["calls"] == [record["linkedid"]]
    modes = [(mode, datetime.fromisoformat(at).timestamp()) for mode, at in session["modes"]]
    assert [mode for mode, _ in modes] == ["listen", "whisper", "barge"], modes
    (_, listening), (_, whispering), (_, barging) = modes
    assert 5.0 < whispering - listening < 9.0 and 5.0 < barging - whispering < 9.0, modes
    ended = session["ended_at"].timestamp()

    legs = {
        "caller": (CARRIER, sent_media_port(call.messages)),
        "agent": (PHONE, sent_media_port(answered.messages)),
    }
    work = sipp_dir / "measure"
    assert _heard(capture, legs, listening + 1.5, whispering - 0.5, work / "listen") == set()
    assert _heard(capture, legs, whispering + 1.0, barging - 0.5, work / "whisper") == {"agent"}
    assert _heard(capture, legs, barging + 1.0, ended - 0.5, work / "barge") == {"caller", "agent"}
    # Meanwhile the conversation went on: each party heard the other.
    caller_pcm = capture.pcm(CARRIER, listening + 1.5, ended - 0.5, port=legs["caller"][1])
    assert tone_level(caller_pcm, AGENT_HZ, work / "conversation") >= TONE_THRESHOLD

    [allowed] = audit_of(stack, "1001", since, 1)
    assert (allowed["allowed"], allowed["actor"].startswith("api@")) == (True, True), dict(allowed)
    # The support queue asks for a notice: the agent was whispered a beep when the supervisor came in.
    full_log = (settings.asterisk_state_dir / "log" / "full").read_text(errors="replace")
    assert "Executing [s@cc-monitor-notice:3] Playback" in full_log


def test_a_supervisor_listens_from_the_desk_phone_with_a_pin_and_one_outside_the_queue_is_refused(
    agents: Agents,
    anna: DeskPhone,
    api: Api,
    stack: Stack,
    target: tuple[str, int],
    sipp_dir: Path,
) -> None:
    outsider, boss = agents.phone("1902"), agents.phone("1901")
    caller = new_caller()
    since = datetime.now().astimezone()
    agent_voice, boss_voice, outsider_voice = (sipp_dir / f"{name}.pcap" for name in ("agent", "boss", "outsider"))
    write_media_pcap(agent_voice, tone_hz=AGENT_HZ, seconds=30)
    pin = [(1000 + 300 * index, digit) for index, digit in enumerate(SUPERVISOR_PIN)]
    write_media_pcap(boss_voice, tone_hz=SUPERVISOR_HZ, seconds=14, keys=pin)
    write_media_pcap(outsider_voice, tone_hz=None, seconds=0, keys=[(500, "1")])
    script = CallScript(keys=((1500, "2"),), tone_hz=CALLER_HZ, tone_seconds=60)
    with RtpCapture({CARRIER, PHONE}, max_seconds=120) as capture, ThreadPoolExecutor(3) as pool:
        answering = pool.submit(anna.answer_and_talk, agent_voice, 24000)
        calling = pool.submit(run_sipp, "carrier_call.xml", target, "88005553535", caller, sipp_dir, script)
        api.wait_on_call("1001")
        # 1902 supervises sales only: refused (the call center hangs up before the phone does).
        refused = outsider.dial_and_stay("*91001", outsider_voice, 8000)
        # 1901 dials *9 1001 and the PIN, then listens: it hears both parties, and nobody hears it.
        listened = boss.dial_and_stay("*91001", boss_voice, 13000)
        call, answered = calling.result(timeout=90), answering.result(timeout=90)
    assert listened.ok, listened.output
    assert call.ok, call.output
    assert answered.ok, answered.output
    assert "BYE" in refused.messages  # the refusal ends the call; the scenario's own BYE never went

    [session] = sessions_of(stack, "1001", since)
    assert (session["supervisor"], session["via"], [mode for mode, _ in session["modes"]]) == (
        "1901",
        "phone",
        ["listen"],
    )
    decisions = [(row["actor"], row["allowed"]) for row in audit_of(stack, "1001", since, 2)]
    assert decisions == [("1902", False), ("1901", True)], decisions

    start = session["started_at"].timestamp() + 1.5
    end = session["ended_at"].timestamp() - 0.5
    boss_pcm = capture.pcm(PHONE, start, end, port=sent_media_port(listened.messages))
    work = sipp_dir / "measure"
    assert tone_level(boss_pcm, CALLER_HZ, work / "boss") >= TONE_THRESHOLD
    assert tone_level(boss_pcm, AGENT_HZ, work / "boss") >= TONE_THRESHOLD
    legs = {"caller": (CARRIER, sent_media_port(call.messages)), "agent": (PHONE, sent_media_port(answered.messages))}
    assert _heard(capture, legs, start, end, work / "listen") == set()
    # The refused supervisor got no session, and the call record is untouched by either.
    assert wait_for_record(caller)["agent"] == "1001"
