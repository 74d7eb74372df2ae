"""The files shipped for admins stay in step with the code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from callcenter.dialplan.schema import file_schema

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_schema_is_what_callcenter_schema_prints() -> None:
    committed = json.loads((REPO / "dialplans" / "schema.json").read_text())
    assert committed == file_schema(), "run: .venv/bin/callcenter schema > dialplans/schema.json"


def test_every_sample_file_points_editors_at_the_schema() -> None:
    for path in (REPO / "dialplans").glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=schema.json\n"), path


def test_the_sample_dialplan_passes_check_with_its_prompts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "callcenter", "check"], capture_output=True, text=True, check=False, cwd=REPO, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "OK (2 numbers, 3 menus, 3 queues, 3 agents, 2 supervisors, 2 schedules)" in done.stdout
