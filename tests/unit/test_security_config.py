"""What hostile SIP input meets in the generated config and the settings: outside transfer targets only from
lists.transfer_numbers (exact extensions, errors at file:line), the blocked addresses as a PJSIP ACL, the AMI
user reading security events, phones identified only by the user they authenticate as, the block settings."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from callcenter.asterisk.confgen import render_blocked, render_config
from callcenter.config import Secrets, Settings
from callcenter.dialplan.loader import DialplanError, load_dialplan
from callcenter.dialplan.model import Dialplan
from callcenter.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SECRETS = Secrets(ami_secret="ami-s3cret-long-enough", db_password="db", phone_passwords={}, api_token="t")
SETTINGS = Settings(node="n")
BASE = """\
numbers:
  "88005553535": {name: L, menu: main}
menus:
  main:
    greeting: [hello]
    options:
      "1": {action: message, prompts: [bye]}
"""


def plan(transfer_numbers: list[str]) -> Dialplan:
    return Dialplan.checked(
        {
            "numbers": {"88005553535": {"name": "L", "menu": "main"}},
            "menus": {"main": {"greeting": ["hello"], "options": {"1": {"action": "message", "prompts": ["bye"]}}}},
            "lists": {"transfer_numbers": {"numbers": transfer_numbers}},
        }
    )


def transfer_extensions(dialplan: Dialplan) -> dict[str, str]:
    text = render_config(SETTINGS, SECRETS, dialplan)["extensions_transfer_numbers.conf"]
    found = re.findall(r"^exten => (\S+?),1,Goto\(cc-transfer,(\S+?),1\)$", text, re.MULTILINE)
    lines = [line for line in text.splitlines() if line and not line.startswith(";")]
    assert len(found) == len(lines), text  # nothing but exact extensions
    return dict(found)


def test_only_the_listed_numbers_are_outside_transfer_targets_in_both_forms_an_agent_dials() -> None:
    assert transfer_extensions(plan(["8 (495) 123-45-67", "+7 916 000-00-02", "74951234567"])) == {
        "84951234567": "+74951234567",
        "74951234567": "+74951234567",
        "89160000002": "+79160000002",
        "79160000002": "+79160000002",
    }


def test_no_listed_number_means_no_outside_transfer_target_at_all() -> None:
    assert transfer_extensions(plan([])) == {}


def test_no_pattern_that_dials_anywhere_is_left_in_the_agents_transfer_context() -> None:
    conf = (REPO / "asterisk" / "extensions.conf").read_text()
    context = conf.split("[cc-agent-transfer]", 1)[1].split("\n[", 1)[0]
    assert "extensions_transfer_numbers.conf" in context
    assert not re.search(r"^exten => _[78]X", context, re.MULTILINE), context
    assert "cc-transfer," not in context.replace("Goto(cc-transfer-queue", "")  # only through the generated file


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('"+7 495 *"', "not prefixes"),
        ('"+44 20 7946 0000"', "8 or 7 and ten digits"),
        ('"1003"', "8 or 7 and ten digits"),
        ('"call me"', "not a phone number"),
    ],
)
def test_a_transfer_number_agents_cannot_dial_exactly_is_a_problem_at_its_line(
    tmp_path: Path, entry: str, message: str
) -> None:
    (tmp_path / "plan.yaml").write_text(BASE)
    lists = tmp_path / "lists.yaml"
    lists.write_text(
        textwrap.dedent(f"""\
        lists:
          transfer_numbers:
            numbers:
              - "+7 495 123-45-67"
              - {entry}
        """)
    )
    with pytest.raises(DialplanError) as caught:
        load_dialplan(tmp_path)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.column) == (lists, 5, 9)
    assert "lists.transfer_numbers.numbers.1" in problem.message and message in problem.message


def test_the_sample_lists_one_transfer_number() -> None:
    assert load_dialplan(REPO / "dialplans").lists.transfer_numbers.numbers == ("+74951234567",)


def test_blocked_addresses_are_a_pjsip_acl_that_denies_each_of_them() -> None:
    assert render_blocked({"127.0.0.21": 1.0, "203.0.113.9": 2.0, "2001:db8::7": 3.0}) == (
        "[cc-blocked]\ntype = acl\ndeny = 127.0.0.21\ndeny = 2001:db8::7\ndeny = 203.0.113.9\n"
    )
    assert "[" not in render_blocked([])  # no section: nothing is denied
    with pytest.raises(ValueError):
        render_blocked(["127.0.0.1\n[evil]"])  # never a line of config from something that is not an address


def test_the_ami_user_reads_security_events_and_phones_are_identified_only_by_user() -> None:
    dialplan = load_dialplan(REPO / "dialplans")
    secrets = Secrets("ami-s3cret-long-enough", "db", {p.extension: "Pw-long-enough-1" for p in dialplan.phones()}, "t")
    files = render_config(SETTINGS, secrets, dialplan)
    read = next(line for line in files["manager_users.conf"].splitlines() if line.startswith("read = "))
    assert "security" in read.removeprefix("read = ").split(",")
    endpoints = files["pjsip_phones.conf"].split("(endpoint-common)")[1:]
    assert endpoints and all("identify_by = username\n" in endpoint.split("\n[")[0] for endpoint in endpoints)


def test_the_carrier_is_identified_by_its_address_alone() -> None:
    conf = (REPO / "asterisk" / "pjsip.conf").read_text()
    carrier = conf.split("[carrier](endpoint-common)", 1)[1].split("\n[", 1)[0]
    assert "identify_by = ip" in carrier.splitlines()
    assert "#tryinclude /srv/callcenter/run/generated/pjsip_blocked.conf" in conf


def test_block_settings_come_from_the_environment_and_nonsense_is_refused() -> None:
    settings = Settings.from_env(
        {
            "CALLCENTER_SIP_BLOCK_FAILURES": "4",
            "CALLCENTER_SIP_BLOCK_WINDOW": "30",
            "CALLCENTER_SIP_BLOCK_SECONDS": "8",
            "CALLCENTER_SIP_BLOCK_EXEMPT": "10.0.0.0/8, 192.0.2.7",
        }
    )
    assert (settings.sip_block_failures, settings.sip_block_window, settings.sip_block_seconds) == (4, 30, 8)
    assert settings.sip_block_exempt == "10.0.0.0/8, 192.0.2.7"
    defaults = Settings.from_env({})
    assert (defaults.sip_block_failures, defaults.sip_block_window, defaults.sip_block_seconds) == (10, 300, 1800)
    with pytest.raises(ConfigError, match="SIP_BLOCK_EXEMPT"):
        Settings.from_env({"CALLCENTER_SIP_BLOCK_EXEMPT": "10.0.0.0/8,office"})
    with pytest.raises(ConfigError, match="SIP_BLOCK_FAILURES"):
        Settings.from_env({"CALLCENTER_SIP_BLOCK_FAILURES": "-1"})
    with pytest.raises(ConfigError, match="SIP_BLOCK_"):
        Settings.from_env({"CALLCENTER_SIP_BLOCK_SECONDS": "0"})
