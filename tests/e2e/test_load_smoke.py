"""The load harness (`make load`, bench/load/) in its smallest mode, against the real stack: it still
drives calls through both paths and counts what it must.

It starts a stack of its own (its own run directory and ports, apart from the session's), so it does not
use the session's fixtures. A failed call, a lost record or a rate that carried nothing fails it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, SLOT

# bench/ is not part of the installed package: import it from the checkout.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.load import harness

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

# Ports 45060+100*SLOT.. (the harness' own default block is 35060+100*SLOT: a `make load` may run meanwhile).
PORT_BASE = 45060 + 100 * SLOT


def test_smoke_run_completes_every_call_through_both_paths_and_loses_no_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_dir = REPO / ".run" / ("load-smoke" if SLOT == 0 else f"load-smoke-{SLOT}")
    report_file = run_dir / "smoke-report.json"
    report_file.unlink(missing_ok=True)
    status = harness.main(
        ["--smoke", "--run-dir", str(run_dir), "--port-base", str(PORT_BASE), "--json", str(report_file)]
    )
    out = capsys.readouterr().out
    assert status == 0, out[-4000:]
    report = json.loads(report_file.read_text())
    for path in (report["baseline"], report["full"]):
        steps = path["steps"]
        assert steps, path
        assert all(step["failed"] == 0 and step["completed"] == step["placed"] > 0 for step in steps), steps
    hold = report["hold"]
    assert hold["placed"] > 0 and hold["failed"] == 0
    assert hold["successful"] == hold["placed"] == hold["agent_conversations"]
    # every call of the hold is in PostgreSQL, answered by an agent: none lost, no key lost in the IVR
    assert hold["records"] == hold["successful"] and hold["lost_records"] == 0
    assert hold["records_by_outcome"] == {"answered": hold["successful"]}
    # the service's own AGI histogram was read, and the processes were measured
    assert hold["agi_commands"] > 0 and 0 < hold["agi_p50_s"] <= hold["agi_p99_s"]
    assert hold["rss_service_started"] > 0 and hold["rss_hold_end"] > 0
    assert hold["asterisk_cpu_s"] > 0 and hold["service_cpu_s"] > 0
    assert report["service_exit"] == 0
    assert "targets:" in out and "0 lost records" in out
    assert Path(report_file).exists()
