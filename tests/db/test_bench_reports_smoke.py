"""bench.reports_bench end to end on a few thousand calls: it runs, and its rollups agree with raw SQL.

The benchmark's ratios mean something only if the rollup report and the raw-SQL baseline say the same: the
run exits 1 when they do not, and prints the verdict this test reads.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# bench/ is not part of the installed package: import it from the checkout.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from bench import reports_bench  # noqa: E402

pytestmark = pytest.mark.timeout(180)

SLOT = int(os.environ.get("CC_TEST_SLOT", "0"))


def test_a_small_run_loads_ingests_and_reports_with_rollups_agreeing_with_raw_sql(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_dir = _ROOT / ".run" / ("bench-smoke" if SLOT == 0 else f"bench-smoke-{SLOT}")
    argv = ["--calls", "4000", "--days", "2", "--ingest-calls", "300", "--repeat", "1", "--raw-repeat", "1"]
    assert reports_bench.main([*argv, "--fresh", "--run-dir", str(run_dir), "--port", str(17533 + 100 * SLOT)]) == 0
    out = capsys.readouterr().out
    verdicts = [line for line in out.splitlines() if "rollups agree with raw SQL" in line]
    assert len(verdicts) == 2 and all(line.endswith("True") for line in verdicts), out
    assert "records/s" in out and "one-day report" in out, out
