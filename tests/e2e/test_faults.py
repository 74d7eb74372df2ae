"""Asterisk restarting and the service being down: callers and records are looked after."""

from __future__ import annotations

import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import pytest

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e


def test_service_reconnects_to_ami_after_asterisk_restarts_and_takes_calls_again(
    stack: Stack, service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    mark = service.mark()
    stack.asterisk.stop()
    service.wait_for(r"AMI connection to .* lost; reconnecting with backoff", start=mark)
    stack.asterisk.start()
    stack.asterisk.wait_ready(settings.ami_port)
    service.wait_for(r"AMI reconnected", start=mark, timeout=30)

    caller = new_caller()
    result = run_sipp("carrier_call.xml", target, "+78005553535", caller, sipp_dir, CallScript(keys=((1000, "2"),)))
    assert result.ok, result.output
    assert wait_for_record(caller)["queue"] == "support"


def test_callers_hear_the_fallback_not_dead_air_while_the_service_is_down(
    stack: Stack, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    full_log = stack.asterisk.log_file.with_name("full")
    log_start = full_log.stat().st_size
    assert service.stop() == 0
    try:
        caller = new_caller()
        # Answered, the sorry prompt, then Asterisk hangs up: the scenario waits for that BYE.
        result = run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, timeout_s=30)
        assert result.ok, result.output
    finally:
        mark = service.mark()
        service.start()
        service.wait_for(r"AMI connected", start=mark, timeout=30)
    with full_log.open(errors="replace") as log:
        log.seek(log_start)
        written = log.read()
    assert "callcenter service unreachable" in written
    assert "Playing 'ss-noservice" in written


def _terminated_within(service: ServiceProcess, seconds: float, mark: int) -> None:
    """SIGTERM, then a clean exit within ``seconds``: every call finished, the records written."""
    try:
        status = service.signal_stop(signal.SIGTERM, timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no exit within {seconds} s of SIGTERM; output:\n" + service.output[-3000:])
    assert status == 0, service.output[-3000:]
    service.wait_for(r"stopped; \d+ call record", start=mark, timeout=1)


def _serve_again(service: ServiceProcess) -> None:
    with suppress(subprocess.TimeoutExpired):
        service.stop()  # left running by a failure
    mark = service.mark()
    service.start()
    service.wait_for(r"AMI connected", start=mark, timeout=30)


def test_sigterm_just_after_the_ami_login_stops_the_service(stack: Stack, service: ServiceProcess) -> None:
    # The login sets off a burst of actions (CoreSettings, Status, ModuleCheck, Setvar, Reload). A stop
    # while their answers came in lost the cancel of a task awaiting one (asyncio.wait_for on 3.11), and
    # the service never exited. A race: a few starts, each stopped the moment the login is logged.
    assert service.stop() == 0
    try:
        for _ in range(5):
            mark = service.mark()
            service.start()
            service.wait_for(r"AMI connected", start=mark, timeout=30)
            _terminated_within(service, 20, mark)
    finally:
        _serve_again(service)


def test_sigterm_while_asterisk_is_down_stops_the_service(
    stack: Stack, service: ServiceProcess, settings: Settings
) -> None:
    assert service.stop() == 0
    stack.asterisk.stop()
    try:
        for wait in (0.0, 3.0):  # at once, and with AMI connection attempts failing (the backoff going)
            mark = service.mark()
            service.start()
            service.wait_for(r"AMI connecting", start=mark, timeout=30)
            time.sleep(wait)
            _terminated_within(service, 20, mark)
    finally:
        stack.asterisk.start()
        stack.asterisk.wait_ready(settings.ami_port)
        _serve_again(service)
