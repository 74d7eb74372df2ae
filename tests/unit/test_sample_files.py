"""The files shipped for admins stay in step with the code."""

from __future__ import annotations

import json
import os
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


def test_check_reports_a_weak_hand_written_phone_password_in_the_secrets_file(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"phone_passwords": {"1001": "1001pass"}}))
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CALLCENTER_")}
    done = subprocess.run(
        [sys.executable, "-m", "callcenter", "check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=60,
        env={**environment, "CALLCENTER_RUN_DIR": str(tmp_path)},
    )
    assert done.returncode == 1, done.stdout
    assert f"{tmp_path / 'secrets.json'}: phone_passwords.1001 is weak: it has 8 characters" in done.stderr
    assert json.loads((tmp_path / "secrets.json").read_text()) == {"phone_passwords": {"1001": "1001pass"}}
