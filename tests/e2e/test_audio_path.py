"""Audio through Asterisk, measured: what each phone received, sniffed on loopback and measured with sox.

The caller (the carrier's SIPp) speaks a 500 Hz tone, agent 1001's desk phone a 1000 Hz one; in the
conversation each must hear the other's tone and not its own. This proves the measurement (tests/e2e/audio.py)
that supervisor tests build on: a tone present in one leg, absent from another.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.audio import TONE_THRESHOLD, RtpCapture, pcm_seconds, sent_media_port, tone_level
from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.media import write_media_pcap
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_acd import PHONE, DeskPhone, agent_phone
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

__all__ = ["agent_phone"]  # the fixture, imported for the test here

CARRIER = "127.0.0.2"
CALLER_HZ, AGENT_HZ = 500.0, 1000.0
TALK_MS = 6000  # the agent hangs up this long after answering
# The window measured, after the first packet Asterisk sent the agent (the conversation's start): clear of
# the answer's first moments and of the hang-up.
WINDOW = (1.0, 4.5)


def test_each_party_hears_the_others_tone_and_not_its_own(
    agent_phone: DeskPhone, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    voice = sipp_dir / "agent-voice.pcap"
    write_media_pcap(voice, tone_hz=AGENT_HZ, seconds=TALK_MS / 1000 + 2)
    # The caller's tone from the answer on: through the menu, the queue's music and the conversation.
    script = CallScript(keys=((1500, "2"),), tone_hz=CALLER_HZ, tone_seconds=60)
    with RtpCapture({CARRIER, PHONE}, max_seconds=90) as capture, ThreadPoolExecutor(1) as pool:
        answering = pool.submit(agent_phone.answer_and_talk, voice, TALK_MS)
        call = run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, script)
        answered = answering.result(timeout=70)
    assert call.ok, call.output
    assert answered.ok, answered.output
    record = wait_for_record(caller)
    assert (record["outcome"], record["agent"]) == ("answered", "1001")

    # Each phone's own RTP port: other test runs on this machine may send RTP to the same addresses.
    caller_port, agent_port = sent_media_port(call.messages), sent_media_port(answered.messages)
    to_agent = capture.packets(PHONE, port=agent_port)
    assert to_agent, "Asterisk sent the agent's phone no audio"
    start, end = (to_agent[0].at + offset for offset in WINDOW)
    heard = {
        "caller": capture.pcm(CARRIER, start, end, port=caller_port),
        "agent": capture.pcm(PHONE, start, end, port=agent_port),
    }
    for leg, pcm in heard.items():
        assert pcm_seconds(pcm) >= 0.9 * (WINDOW[1] - WINDOW[0]), f"the {leg}'s leg got {pcm_seconds(pcm):.2f} s"
    levels = {
        (leg, hz): tone_level(pcm, hz, sipp_dir / "measure")
        for leg, pcm in heard.items()
        for hz in (CALLER_HZ, AGENT_HZ)
    }
    print(f"tone levels (RMS of full scale): {levels}")  # how audio.TONE_THRESHOLD was chosen; shown with -s
    present = {key for key, level in levels.items() if level >= TONE_THRESHOLD}
    assert present == {("caller", AGENT_HZ), ("agent", CALLER_HZ)}, levels
