"""`callcenter up` (what `make run` runs): the whole call center, a call through it, and a clean Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from callcenter.config import Settings
from tests.e2e.conftest import (
    CALLCENTER,
    RUN_DIR,
    SLOT,
    ServiceProcess,
    prepare_dialplans,
    service_env,
    wait_for_record,
)
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

# Ports and a run directory of its own: the session's stack stays up meanwhile.
UP_ENV = {
    "CALLCENTER_RUN_DIR": str(RUN_DIR.with_name(RUN_DIR.name + "-up")),
    "CALLCENTER_DIALPLAN_DIR": str(RUN_DIR.with_name(RUN_DIR.name + "-up") / "dialplans"),
    "CALLCENTER_SIP_PORT": str(25060 + 100 * SLOT),
    "CALLCENTER_AMI_PORT": str(25038 + 100 * SLOT),
    "CALLCENTER_AGI_PORT": str(24573 + 100 * SLOT),
    "CALLCENTER_PG_PORT": str(25433 + 100 * SLOT),
    "CALLCENTER_HTTP_PORT": str(28080 + 100 * SLOT),
    "CALLCENTER_METRICS_PORT": str(29464 + 100 * SLOT),
    "CALLCENTER_LOG_LEVEL": "INFO",
}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's bookkeeping is left


def _postmaster_pid(run_dir: Path) -> int:
    return int((run_dir / "pg" / "postmaster.pid").read_text().split()[0])


def test_up_takes_a_call_and_ctrl_c_stops_everything_then_starts_again(sipp_dir: Path) -> None:
    env = service_env(UP_ENV)
    prepare_dialplans(Path(UP_ENV["CALLCENTER_DIALPLAN_DIR"]))
    settings = Settings.from_env(UP_ENV)
    for attempt in (1, 2):
        up = ServiceProcess([*CALLCENTER, "up"], env)
        up.start()
        try:
            line = up.wait_for(r"Asterisk starting \(pid \d+", timeout=120)
            asterisk_pid = int(re.search(r"pid (\d+)", line).group(1))  # type: ignore[union-attr]
            up.wait_for(r"AMI connected", timeout=30)
            up.wait_for(r"desk phone 1001 \(.*\): user 1001 password \S+")
            postgres_pid = _postmaster_pid(settings.run_dir)
            if attempt == 1:
                caller = new_caller()
                result = run_sipp(
                    "carrier_call.xml",
                    (settings.sip_host, settings.sip_port),
                    "+78005553535",
                    caller,
                    sipp_dir,
                    CallScript(keys=((1000, "2"),)),
                )
                assert result.ok, result.output
                record = wait_for_record(caller, env)
                assert (record["dialled_number"], record["digits"], record["outcome"]) == (
                    "+78005553535",
                    "2",
                    "voicemail",
                )
                # The CLI an admin uses shows it as the latest call.
                latest = subprocess.run(
                    [*CALLCENTER, "calls", "--last", "1"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=True,
                ).stdout
                assert "+78005553535" in latest and caller in latest
        finally:
            status = up.signal_stop(signal.SIGINT)
        assert status == 0, up.output[-3000:]
        assert "call center stopped" in up.output
        assert not _alive(asterisk_pid), "Asterisk left running"
        assert not _alive(postgres_pid), "PostgreSQL left running"
        assert not (settings.run_dir / "pg" / "postmaster.pid").exists()
