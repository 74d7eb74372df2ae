"""Hostile SIP input end to end (issue #7): SIPp plays strangers on loopback aliases 127.0.0.20-29 (the carrier is
127.0.0.2, the desk phones 127.0.0.3) against the real Asterisk and service.

Strangers' INVITEs get a challenge they cannot answer, whatever number or user name they use; the carrier and
phones cannot reach an outside number except the listed transfer targets; a REGISTER brute force gets the
address blocked in Asterisk (403 to everything, even correct credentials) for the block period, across a restart
of the service, while another address is served; then it is served again.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.conftest import CALLCENTER, RUN_DIR, ServiceProcess, service_env, wait_for_record
from tests.e2e.sipp import CallScript, SippResult, run_sipp
from tests.e2e.test_acd import DeskPhone, agent_phone
from tests.e2e.test_inbound_ivr import new_caller
from tests.e2e.test_presence import Ami
from tests.e2e.test_transfers import _transferring

pytestmark = pytest.mark.e2e

__all__ = ["agent_phone"]  # the fixture, imported for the tests here

PHONE = "127.0.0.3"
# Short block rules for the guarded service: four failures within a minute block for BLOCK_SECONDS.
BLOCK_FAILURES, BLOCK_SECONDS = 4, 14
NOT_ALLOWED = "84957654321"  # an outside number no list names
ALLOWED = "84951234567"  # lists.transfer_numbers in the sample (+7 495 123-45-67)


class AsteriskLog:
    """What Asterisk's full log (verbose 3: every dialplan step, every Dial) gained since it was opened."""

    def __init__(self, settings: Settings) -> None:
        self._path = settings.asterisk_state_dir / "log" / "full"
        self._start = self._path.stat().st_size

    def since(self) -> str:
        with self._path.open(errors="replace") as log:
            log.seek(self._start)
            return log.read()


def _fresh(work: Path) -> Path:
    """A directory of its own for one SIPp run: its message trace is read from there, alone."""
    return Path(tempfile.mkdtemp(dir=work))


def _stranger(scenario: str, target: tuple[str, int], service: str, user: str, address: str, work: Path) -> SippResult:
    return run_sipp(scenario, target, service, user, _fresh(work), local_ip=address, timeout_s=15)


def _register(
    target: tuple[str, int], address: str, extension: str, password: str, work: Path, expires: int = 0
) -> str:
    """One REGISTER attempt from ``address``; the final answer's status line ('SIP/2.0 200 OK', '... 403 ...')."""
    result = run_sipp(
        "register_attempt.xml",
        target,
        "register",
        extension,
        _fresh(work),
        local_ip=address,
        timeout_s=15,
        extra=("-key", "user", extension, "-key", "expires", str(expires), "-au", extension, "-ap", password),
    )
    assert result.ok, result.output
    answers: list[str] = re.findall(r"^SIP/2\.0 \d{3} .*$", result.messages, re.MULTILINE)
    assert answers, result.messages
    return answers[-1].strip()


def _metrics(settings: Settings) -> str:
    url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
    return body.decode()


def _value(metrics: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


# --- strangers get no service ---------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["attacker", "1001"])
def test_an_invite_from_an_unknown_address_to_an_extension_is_challenged_and_rings_no_phone(
    service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path, user: str
) -> None:
    log = AsteriskLog(settings)
    result = _stranger("stranger_invite.xml", target, "1001", user, "127.0.0.20", sipp_dir)
    assert result.ok, result.output  # refused with 401 or 403, nothing else
    assert "SIP/2.0 401 Unauthorized" in result.messages
    written = log.since()
    assert "Executing [" not in written, written  # no channel ever entered the dialplan
    assert "Called PJSIP/1001" not in written


@pytest.mark.parametrize("user", ["79161234567", "carrier"])
def test_an_invite_from_an_unknown_address_to_the_toll_free_number_is_not_the_carriers(
    service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path, user: str
) -> None:
    # 'carrier' is the trunk's endpoint name: identified by its address only, a From of that name is nothing.
    log = AsteriskLog(settings)
    result = _stranger("stranger_invite.xml", target, "88005553535", user, "127.0.0.21", sipp_dir)
    assert result.ok, result.output
    assert "SIP/2.0 401 Unauthorized" in result.messages
    written = log.since()
    assert "@from-carrier" not in written and "Executing [" not in written, written


# --- nothing goes out but what the dialplan names -----------------------------------------------------------


@pytest.mark.parametrize("dialled", ["+74957654321", NOT_ALLOWED, "810442079460000"])
def test_a_carrier_call_to_an_outside_number_is_refused_and_nothing_is_dialled(
    service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path, dialled: str
) -> None:
    log = AsteriskLog(settings)
    result = run_sipp("carrier_unknown_number.xml", target, dialled, new_caller(), sipp_dir)
    assert result.ok, result.output  # 404 without an answer
    written = log.since()
    assert "Called PJSIP/" not in written and "@carrier" not in written, written


@pytest.mark.parametrize("dialled", [NOT_ALLOWED, "+74957654321", ALLOWED])
def test_a_phone_dialling_an_outside_number_is_refused_and_nothing_is_dialled(
    stack: Stack, service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path, dialled: str
) -> None:
    # Even a number agents may transfer to: a phone itself never dials out.
    log = AsteriskLog(settings)
    password = stack.secrets.phone_passwords["1002"]
    result = run_sipp(
        "phone_dial_refused.xml",
        target,
        dialled,
        "1002",
        sipp_dir,
        local_ip=PHONE,
        timeout_s=20,
        extra=("-key", "user", "1002", "-au", "1002", "-ap", password),
    )
    assert result.ok, result.output  # 404 after the authenticated INVITE
    written = log.since()
    assert "Called PJSIP/" not in written and "@carrier" not in written, written


def test_only_the_listed_transfer_number_exists_in_the_agents_transfer_context(
    stack: Stack, service: ServiceProcess, settings: Settings
) -> None:
    with Ami(settings.ami_port, settings.ami_username, stack.secrets.ami_secret) as ami:

        def exists(exten: str) -> bool:
            reply = ami.action({"Action": "ShowDialPlan", "Context": "cc-agent-transfer", "Extension": exten})
            return reply[0].get("Response") == "Success"

        assert exists(ALLOWED) and exists("74951234567")
        assert not exists(NOT_ALLOWED) and not exists("74957654321") and not exists("89161234567")
        assert exists("1003")  # agents' extensions stay transfer targets


def test_an_agent_transfer_to_a_number_not_allowed_is_refused_and_the_agent_keeps_the_caller(
    agent_phone: DeskPhone, settings: Settings, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    log = AsteriskLog(settings)
    with ThreadPoolExecutor(1) as pool:
        # The agent answers, types ## and the number, and stays on the line 8 s, then hangs up: had the caller
        # been transferred, Asterisk would have hung the agent's phone up first and the scenario would fail.
        transferring = pool.submit(
            _transferring,
            agent_phone,
            "phone_answer_attended_transfer.xml",
            f"##{NOT_ALLOWED}",
            hang_up_after_ms=8000,
        )
        call = run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, CallScript(keys=((1500, "2"),)))
        transferred = transferring.result(timeout=70)
    assert call.ok, call.output
    assert transferred.ok, transferred.output
    record = wait_for_record(caller)
    assert (record["outcome"], record["agent"]) == ("answered", "1001"), record
    assert "transferred" not in [step["step"] for step in record["steps"]]
    written = log.since()
    assert "Called PJSIP/" in written  # the agent's phone was called...
    assert "@carrier" not in written and "+74957654321" not in written, written  # ...and nothing went out
    assert "pbx-invalid" in written  # the agent heard that the target does not exist


# --- brute force: the address is blocked for a while ---------------------------------------------------------


@pytest.fixture
def guarded(stack: Stack, service: ServiceProcess) -> Iterator[ServiceProcess]:
    """The service with short block rules, in place of the session's (restarted as it was afterwards)."""
    assert service.stop() == 0, service.output[-3000:]
    (RUN_DIR / "sip-blocks.json").unlink(missing_ok=True)
    env = service_env(
        {
            "CALLCENTER_SIP_BLOCK_FAILURES": str(BLOCK_FAILURES),
            "CALLCENTER_SIP_BLOCK_WINDOW": "60",
            "CALLCENTER_SIP_BLOCK_SECONDS": str(BLOCK_SECONDS),
        }
    )
    process = ServiceProcess([*CALLCENTER, "serve"], env)
    process.start()
    try:
        process.wait_for(r"AMI connected", timeout=30)
        process.wait_for(r"SIP blocks in force in Asterisk: 0 address", timeout=30)
        yield process
    finally:
        process.stop()
        (RUN_DIR / "sip-blocks-test-output.log").write_text(process.output + "\n")
        (RUN_DIR / "sip-blocks.json").unlink(missing_ok=True)
        mark = service.mark()
        service.start()
        # Up to the end of its start: a service stopped at once after connecting to AMI can hang on the way out.
        service.wait_for(r"callcenter serving node", start=mark, timeout=30)


def test_a_register_brute_force_blocks_the_address_for_the_period_even_across_a_restart_and_spares_others(
    guarded: ServiceProcess, stack: Stack, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    attacker, neighbour = "127.0.0.22", "127.0.0.23"
    password = stack.secrets.phone_passwords["1002"]
    assert _register(target, attacker, "1002", password, sipp_dir) == "SIP/2.0 200 OK"  # served before
    mark = guarded.mark()
    answers = [_register(target, attacker, "1002", f"guess-{n}-Wrong!", sipp_dir) for n in range(BLOCK_FAILURES)]
    assert all(answer.startswith("SIP/2.0 401") for answer in answers), answers  # each guess is refused
    line = guarded.wait_for(r"SIP address 127\.0\.0\.22 blocked until", start=mark, timeout=10)
    assert f"{BLOCK_FAILURES} failures" in line and "ChallengeResponseFailed" in line
    blocked_at = time.monotonic()
    guarded.wait_for(r"SIP blocks in force in Asterisk: 1 address", start=mark, timeout=10)

    # Blocked in Asterisk: even the right password gets 403, before any challenge; the neighbour is served.
    assert _register(target, attacker, "1002", password, sipp_dir) == "SIP/2.0 403 Forbidden"
    refused = _stranger("stranger_invite.xml", target, "88005553535", "79161234567", attacker, sipp_dir)
    assert refused.ok and "SIP/2.0 403 Forbidden" in refused.messages, refused.messages
    assert _register(target, neighbour, "1002", password, sipp_dir) == "SIP/2.0 200 OK"
    metrics = _metrics(settings)
    assert _value(metrics, "callcenter_sip_blocked_addresses") == 1
    assert _value(metrics, 'callcenter_sip_security_events_total{event="ChallengeResponseFailed"}') >= BLOCK_FAILURES
    saved = json.loads((RUN_DIR / "sip-blocks.json").read_text())
    assert set(saved) == {attacker}

    # A restart of the service keeps the block (saved in the run directory).
    assert guarded.stop() == 0
    mark = guarded.mark()
    guarded.start()
    guarded.wait_for(r"SIP address 127\.0\.0\.22 still blocked until", start=mark, timeout=30)
    guarded.wait_for(r"SIP blocks in force in Asterisk: 1 address", start=mark, timeout=30)
    assert time.monotonic() - blocked_at < BLOCK_SECONDS - 2, "the restart took too long to prove anything"
    assert _register(target, attacker, "1002", password, sipp_dir) == "SIP/2.0 403 Forbidden"

    # Then the period ends: unblocked in Asterisk, served again.
    guarded.wait_for(r"SIP address 127\.0\.0\.22 unblocked", start=mark, timeout=BLOCK_SECONDS + 10)
    assert time.monotonic() - blocked_at >= BLOCK_SECONDS - 1
    guarded.wait_for(r"SIP blocks in force in Asterisk: 0 address", start=mark, timeout=10)
    assert _register(target, attacker, "1002", password, sipp_dir) == "SIP/2.0 200 OK"
    assert _value(_metrics(settings), "callcenter_sip_blocked_addresses") == 0
    assert json.loads((RUN_DIR / "sip-blocks.json").read_text()) == {}
