"""Call recording end to end, with the audio in the files measured (sox) rather than assumed.

The caller (the carrier's SIPp) speaks a 500 Hz tone, the agent's desk phone a 1000 Hz one. A recording
is a stereo file: the caller's voice on the left channel only, the agent's on the right only, as long as
the conversation (+-1 s); a pause (the agent's *9 from the keypad, or the API) is silence in both channels
over its span, and the span is stored with the recording. The support queue records always, the sales
queue on demand (the sample dialplan).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.audio import TONE_THRESHOLD, tone_level
from tests.e2e.conftest import CALLCENTER, REPO, ServiceProcess, service_env, wait_for_record
from tests.e2e.media import write_media_pcap
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_acd import DeskPhone
from tests.e2e.test_acd_routing import Agents, agents
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

__all__ = ["agents"]  # the fixture, imported for the tests here

CALLER_HZ, AGENT_HZ = 500.0, 1000.0
SILENCE = 0.002  # RMS of full scale: what is left of a muted span (A-law's smallest step is ~0.0005)


class Api:
    """The service's HTTP API, with its bearer token."""

    def __init__(self, settings: Settings, token: str) -> None:
        self._base = f"http://{settings.http_host}:{settings.http_port}"
        self._token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_on_call(self, agent: str, recording: bool = False, timeout: float = 40.0) -> dict[str, Any]:
        """The agent's recording state once they are on a queue call (and ``recording`` started, if asked)."""
        deadline = time.monotonic() + timeout
        while True:
            status, state = self.call("GET", f"/api/agents/{agent}/recording")
            if status == 200 and (state["recording"] or not recording):
                assert isinstance(state, dict)
                return state
            assert time.monotonic() < deadline, f"agent {agent} not on a queue call within {timeout} s: {state}"
            time.sleep(0.2)


@pytest.fixture
def api(stack: Stack, settings: Settings, service: ServiceProcess) -> Api:
    return Api(settings, stack.secrets.api_token)


def recordings_of(linkedid: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The call's finished recordings (`callcenter recordings list --json`), once there are ``count``."""
    deadline = time.monotonic() + timeout
    while True:
        completed = subprocess.run(
            [*CALLCENTER, "recordings", "list", "--linkedid", linkedid, "--json"],
            env=service_env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        found: list[dict[str, Any]] = json.loads(completed.stdout)
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} recording(s) of call {linkedid} within {timeout} s"
        time.sleep(0.3)


def channel_pcm(path: Path, channel: int, start: float, end: float) -> bytes:
    """One channel of a recording, ``start`` to ``end`` seconds, as 16-bit 8 kHz PCM."""
    completed = subprocess.run(
        ["sox", str(path), "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-",
         "trim", f"{start}", f"={end}", "remix", str(channel)],
        capture_output=True,
        check=True,
        timeout=30,
    )  # fmt: skip
    return completed.stdout


def levels(path: Path, start: float, end: float, work_dir: Path) -> dict[tuple[str, float], float]:
    """The tones' levels in each channel of the recording over ``start``..``end``."""
    return {
        (side, hz): tone_level(channel_pcm(path, channel, start, end), hz, work_dir)
        for side, channel in (("left", 1), ("right", 2))
        for hz in (CALLER_HZ, AGENT_HZ)
    }


def present(measured: dict[tuple[str, float], float]) -> set[tuple[str, float]]:
    return {key for key, level in measured.items() if level >= TONE_THRESHOLD}


def soxi(path: Path, option: str) -> str:
    return subprocess.run(["soxi", option, str(path)], capture_output=True, text=True, check=True).stdout.strip()


def talk_seconds(record: dict[str, Any]) -> float:
    ended = [step for step in record["steps"] if step["step"] == "ended"]
    assert ended, record["steps"]
    return float(ended[-1]["seconds"])


@pytest.fixture
def anna(agents: Agents) -> Iterator[DeskPhone]:
    phone = agents.phone("1001")
    agents.log_in(phone)
    yield phone


def test_a_support_call_is_recorded_in_stereo_with_a_pause_typed_on_the_agents_keypad(
    anna: DeskPhone, api: Api, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    talk_ms = 9000
    voice = sipp_dir / "agent-voice.pcap"
    # *9 pauses the recording 3 s into the call (the caller reads out a card number), *9 again resumes at 6 s.
    keys = [(3000, "*"), (3250, "9"), (6000, "*"), (6250, "9")]
    write_media_pcap(voice, tone_hz=AGENT_HZ, seconds=talk_ms / 1000 + 2, keys=keys)
    script = CallScript(keys=((1500, "2"),), tone_hz=CALLER_HZ, tone_seconds=60)
    with ThreadPoolExecutor(2) as pool:
        answering = pool.submit(anna.answer_and_talk, voice, talk_ms)
        calling = pool.submit(run_sipp, "carrier_call.xml", target, "88005553535", caller, sipp_dir, script)
        state = api.wait_on_call("1001", recording=True)
        assert (state["queue"], state["reason"], state["on_demand"]) == ("support", "always", False), state
        # A recording the policy makes cannot be stopped by the agent.
        status, refusal = api.call("POST", "/api/agents/1001/recording/stop")
        assert status == 409 and "not_allowed" in refusal["error"], refusal
        call, answered = calling.result(timeout=90), answering.result(timeout=90)
    assert call.ok, call.output
    assert answered.ok, answered.output
    record = wait_for_record(caller)
    assert (record["outcome"], record["agent"]) == ("answered", "1001")

    [recording] = recordings_of(record["linkedid"])
    path = settings.recordings_dir / recording["path"]
    assert (recording["agent"], recording["queue"], recording["reason"]) == ("1001", "support", "always")
    assert recording["path"].startswith(recording["started_at"][:10].replace("-", "/") + "/")
    assert path.is_file() and path.stat().st_size == recording["size"]
    assert (
        subprocess.run(["sha256sum", str(path)], capture_output=True, text=True).stdout.split()[0]
        == recording["sha256"]
    )
    assert (soxi(path, "-c"), soxi(path, "-r")) == ("2", "8000")
    seconds = float(soxi(path, "-D"))
    assert abs(seconds - recording["seconds"]) < 0.1
    assert abs(seconds - talk_seconds(record)) <= 1.0, (seconds, talk_seconds(record))
    assert abs(seconds - talk_ms / 1000) <= 1.0, seconds

    [(paused_from, paused_to)] = recording["pauses"]
    assert abs(paused_from - 3.4) <= 0.8 and abs(paused_to - 6.4) <= 0.8, recording["pauses"]
    before = levels(path, 0.5, paused_from - 0.4, sipp_dir / "before")
    during = levels(path, paused_from + 0.4, paused_to - 0.4, sipp_dir / "during")
    after = levels(path, paused_to + 0.4, seconds - 0.5, sipp_dir / "after")
    print(f"levels before the pause {before}, during {during}, after {after}")
    # The caller's voice on the left, the agent's on the right, each only there.
    assert present(before) == {("left", CALLER_HZ), ("right", AGENT_HZ)}, before
    assert present(after) == {("left", CALLER_HZ), ("right", AGENT_HZ)}, after
    assert max(during.values()) < SILENCE, during

    # The service's metrics counted the call (offered, answered) and timed its AGI commands.
    with urllib.request.urlopen(f"http://{settings.metrics_host}:{settings.metrics_port}/metrics", timeout=10) as page:
        exposition = page.read().decode()
    counted = dict(
        line.rsplit(" ", 1) for line in exposition.splitlines() if line.startswith("callcenter_calls_total{")
    )
    assert float(counted['callcenter_calls_total{event="answered",queue="support"}']) >= 1, counted
    assert float(counted['callcenter_calls_total{event="offered",queue="support"}']) >= 1, counted
    # labelled by the command and, for EXEC, its application (callcenter.asterisk.agi.command_label)
    assert 'callcenter_agi_command_seconds_count{command="EXEC DIAL"}' in exposition


def test_a_sales_call_is_recorded_on_demand_started_over_the_api_and_stopped_by_the_agents_key(
    agents: Agents, api: Api, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    phone = agents.phone("1003")
    agents.log_in(phone)
    caller = new_caller()
    talk_ms = 9000
    voice = sipp_dir / "agent-voice.pcap"
    write_media_pcap(voice, tone_hz=AGENT_HZ, seconds=talk_ms / 1000 + 2, keys=[(6000, "*"), (6250, "8")])
    script = CallScript(keys=((1500, "1"),), tone_hz=CALLER_HZ, tone_seconds=60)
    with ThreadPoolExecutor(2) as pool:
        answering = pool.submit(phone.answer_and_talk, voice, talk_ms)
        calling = pool.submit(run_sipp, "carrier_call.xml", target, "88005553536", caller, sipp_dir, script)
        state = api.wait_on_call("1003")
        assert (state["queue"], state["recording"], state["on_demand"]) == ("sales", None, True), state
        status, started = api.call("POST", "/api/agents/1003/recording/start")
        assert status == 200, started
        started_at = time.monotonic()
        status, again = api.call("POST", "/api/agents/1003/recording/start")
        assert status == 409 and "already_recording" in again["error"], again
        call, answered = calling.result(timeout=90), answering.result(timeout=90)
    assert call.ok, call.output
    assert answered.ok, answered.output
    record = wait_for_record(caller)
    assert (record["outcome"], record["agent"]) == ("answered", "1003")

    [recording] = recordings_of(record["linkedid"])
    assert recording["recording_id"] == started["recording"]
    assert (recording["agent"], recording["queue"], recording["reason"]) == ("1003", "sales", "on_demand")
    assert recording["retention_days"] == 365
    path = settings.recordings_dir / recording["path"]
    seconds = float(soxi(path, "-D"))
    # From the API's start to the agent's *8 at 6.25 s into the call: less than the whole conversation.
    assert 1.0 < seconds < talk_seconds(record) - 1.0, (seconds, talk_seconds(record), started_at)
    measured = levels(path, 0.3, seconds - 0.5, sipp_dir / "on-demand")
    assert present(measured) == {("left", CALLER_HZ), ("right", AGENT_HZ)}, measured
