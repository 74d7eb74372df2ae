"""Secrets people choose: phone passwords in the dialplan and the AMI secret are refused when weak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callcenter.config import Secrets
from callcenter.dialplan.loader import DialplanError, load_dialplan
from callcenter.errors import ConfigError
from callcenter.secret_rules import PHONE_PASSWORD_MIN, SECRET_MIN, weakness

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("changeme", "well-known sample"),
        ("MyAmp111isGood", "well-known sample"),  # contains Asterisk's sample AMI secret
        ("Sh0rt-pw", "8 characters"),
        ("abcdefghijklmnop", "one kind of character"),
        ("1029384756102938", "one kind of character"),  # a keypad-friendly number is still one kind
        ("aAaAaAaAaAaAaAaA", "too few different characters"),
        ("Desk-1001-phone!", "contains '1001'"),  # the extension is no secret
    ],
)
def test_a_weak_secret_is_refused_with_the_reason(secret: str, why: str) -> None:
    reason = weakness(secret, PHONE_PASSWORD_MIN, ("1001",))
    assert reason is not None and why in reason


def test_a_long_mixed_secret_passes() -> None:
    assert weakness("Kx9-vTq2-mWp7-rZ", PHONE_PASSWORD_MIN, ("1001",)) is None
    assert weakness("kx9vtq2mwp7rzb4n", SECRET_MIN) is None


def test_a_weak_phone_password_in_the_dialplan_is_a_problem_at_its_line(tmp_path: Path) -> None:
    directory = tmp_path / "dialplans"
    directory.mkdir()
    for source in (REPO / "dialplans").glob("*.yaml"):
        (directory / source.name).write_text(source.read_text())
    agents = directory / "agents.yaml"
    lines = agents.read_text().splitlines()
    at = next(number for number, line in enumerate(lines) if line.strip().endswith('extension: "1001"'))
    lines.insert(at + 1, '    password: "1001secret"')
    agents.write_text("\n".join(lines) + "\n")
    with pytest.raises(DialplanError) as raised:
        load_dialplan(directory)
    [problem] = raised.value.problems
    assert "agents.yaml" in str(problem) and f":{at + 2}:" in str(problem)
    assert "weak phone password" in str(problem)


def test_a_weak_ami_secret_in_the_environment_stops_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLCENTER_AMI_SECRET", "amp111")
    with pytest.raises(ConfigError, match="CALLCENTER_AMI_SECRET is weak: it is, or contains, a well-known sample"):
        Secrets.load(tmp_path)


def test_a_weak_ami_secret_left_in_the_secrets_file_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALLCENTER_AMI_SECRET", raising=False)
    (tmp_path / "secrets.json").write_text(json.dumps({"ami_secret": "secret", "phone_passwords": {}}))
    with pytest.raises(ConfigError, match=r"secrets.json: ami_secret is weak"):
        Secrets.load(tmp_path)
