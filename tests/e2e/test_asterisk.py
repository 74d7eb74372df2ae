"""The Asterisk side: version, a clean start, desk phones registering with digest authentication."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from callcenter.asterisk.runtime import REQUIRED_MAJOR, root_version
from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.sipp import run_sipp

pytestmark = pytest.mark.e2e

PHONE_ADDRESS = "127.0.0.3"  # phones and the carrier come from different addresses


def test_the_root_runs_asterisk_22(settings: Settings) -> None:
    assert root_version(settings.asterisk_root).split(".")[0] == str(REQUIRED_MAJOR)


def _boot_log(stack: Stack) -> str:
    """The log of the last boot, up to "Asterisk Ready." (written by Asterisk's logger thread, maybe late)."""
    deadline = time.monotonic() + 15
    while True:
        log = stack.asterisk.log_file.with_name("full").read_text(errors="replace")
        start = log.rfind("Asterisk Dynamic Loader Starting")
        end = log.find("Asterisk Ready.", start)
        if start >= 0 and end >= 0:
            return log[start:end]
        assert time.monotonic() < deadline, "Asterisk's log shows no complete boot"
        time.sleep(0.1)


def test_asterisk_starts_without_a_warning_or_an_error(stack: Stack) -> None:
    boot = _boot_log(stack)
    complaints = [line for line in boot.splitlines() if "WARNING[" in line or "ERROR[" in line]
    assert complaints == []


def _register(stack: Stack, settings: Settings, work_dir: Path, extension: str, password: str) -> str:
    result = run_sipp(
        "phone_register.xml",
        (settings.sip_host, settings.sip_port),
        "register",
        extension,
        work_dir,
        local_ip=PHONE_ADDRESS,
        timeout_s=15,
        extra=("-key", "user", extension, "-au", extension, "-ap", password),
    )
    return result.messages if result.ok else "FAILED\n" + result.messages


def test_desk_phone_registers_with_its_generated_password(stack: Stack, settings: Settings, sipp_dir: Path) -> None:
    password = stack.secrets.phone_passwords["1001"]
    messages = _register(stack, settings, sipp_dir, "1001", password)
    assert not messages.startswith("FAILED"), messages
    assert "SIP/2.0 200 OK" in messages


def test_desk_phone_with_a_wrong_password_is_refused(stack: Stack, settings: Settings, sipp_dir: Path) -> None:
    messages = _register(stack, settings, sipp_dir, "1002", "not-the-password")
    assert messages.startswith("FAILED")
    assert "SIP/2.0 200 OK" not in messages
    received = messages.split("message received")
    # Not only the challenge to the first REGISTER: the authenticated one is refused too.
    assert any("SIP/2.0 401 Unauthorized" in reply and "CSeq: 2 REGISTER" in reply for reply in received)
