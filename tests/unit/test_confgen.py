"""callcenter.asterisk.confgen: Asterisk config rendered from settings, secrets and the dialplan."""

from __future__ import annotations

import dataclasses
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from callcenter.asterisk.confgen import render_config, write_config
from callcenter.config import Secrets, Settings
from callcenter.dialplan.model import Dialplan

SETTINGS = Settings(
    node="pbx-test",
    sip_host="192.0.2.10",
    sip_port=5070,
    carrier_address="198.51.100.7",
    carrier_port=5080,
    ami_host="127.0.0.1",
    ami_port=5039,
    ami_username="cc-ami",
    agi_host="127.0.0.1",
    agi_port=4600,
)
SECRETS = Secrets(
    ami_secret="ami-s3cret",
    db_password="db-pw",
    phone_passwords={"1001": "gen-1001", "1002": "gen-1002", "1901": "gen-1901"},
    api_token="api-t0ken",
)
MESSAGE = {"action": "message", "prompts": ["bye"]}


def dialplan(*agents: dict[str, Any], supervisors: tuple[dict[str, Any], ...] = ()) -> Dialplan:
    return Dialplan.checked(
        {
            "numbers": {"88005553535": {"name": "L", "menu": "main"}},
            "menus": {"main": {"greeting": ["hello"], "options": {"1": MESSAGE}}},
            "queues": {"support": {"name": "Support"}},
            "agents": list(agents),
            "supervisors": list(supervisors),
        }
    )


TWO_AGENTS = dialplan(
    {"extension": "1001", "name": "Anna Ivanova"},
    {"extension": "1002", "name": "Boris Petrov", "password": "From-yaml-pw-22"},
)


def sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """Parse an Asterisk .conf text into (section name, {key: value}) in order."""
    result: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        header = re.fullmatch(r"\[([^\]]+)\](\([^)]*\))?", line)
        if header:
            result.append((header.group(1), {}))
            continue
        key, _, value = line.partition(" =")
        assert _, f"not a key = value line: {line!r}"
        result[-1][1][key] = value.removeprefix(" ")
    return result


def section(text: str, name: str, kind: str) -> dict[str, str]:
    matches = [body for title, body in sections(text) if title == name and body.get("type", "endpoint") == kind]
    assert len(matches) == 1, f"{len(matches)} [{name}] sections of type {kind}"
    return matches[0]


def test_every_generated_file_is_rendered() -> None:
    assert set(render_config(SETTINGS, SECRETS, TWO_AGENTS)) == {
        "asterisk_options.conf",
        "pjsip_transport.conf",
        "pjsip_carrier_match.conf",
        "pjsip_carrier_aor.conf",
        "voicemail_boxes.conf",
        "pjsip_phones.conf",
        "manager_general.conf",
        "manager_users.conf",
        "extensions_globals.conf",
        "extensions_presence.conf",
        "extensions_transfer_numbers.conf",
    }


def test_every_agent_has_an_endpoint_auth_and_aor() -> None:
    phones = render_config(SETTINGS, SECRETS, TWO_AGENTS)["pjsip_phones.conf"]
    for extension in ("1001", "1002"):
        endpoint = section(phones, extension, "endpoint")
        assert endpoint["auth"] == extension
        assert endpoint["aors"] == extension
        assert endpoint["context"] == "from-phones"
        auth = section(phones, extension, "auth")
        assert auth["username"] == extension
        assert auth["auth_type"] == "userpass"
        aor = section(phones, extension, "aor")
        assert aor["max_contacts"] == "1"


def test_endpoint_inherits_the_common_template() -> None:
    phones = render_config(SETTINGS, SECRETS, TWO_AGENTS)["pjsip_phones.conf"]
    assert "[1001](endpoint-common)" in phones.splitlines()


def test_endpoint_caller_id_has_the_agent_name_and_extension() -> None:
    phones = render_config(SETTINGS, SECRETS, TWO_AGENTS)["pjsip_phones.conf"]
    assert section(phones, "1001", "endpoint")["callerid"] == '"Anna Ivanova" <1001>'


def test_password_from_the_yaml_wins_over_the_generated_one() -> None:
    phones = render_config(SETTINGS, SECRETS, TWO_AGENTS)["pjsip_phones.conf"]
    assert section(phones, "1002", "auth")["password"] == "From-yaml-pw-22"
    assert "gen-1002" not in phones


def test_password_left_out_of_the_yaml_comes_from_the_secrets() -> None:
    phones = render_config(SETTINGS, SECRETS, TWO_AGENTS)["pjsip_phones.conf"]
    assert section(phones, "1001", "auth")["password"] == "gen-1001"


def test_no_agents_gives_an_empty_phones_file() -> None:
    assert render_config(SETTINGS, SECRETS, dialplan())["pjsip_phones.conf"] == ""


WITH_SUPERVISOR = dialplan(
    {"extension": "1001", "name": "Anna Ivanova"},
    supervisors=({"extension": "1901", "name": "Olga Smirnova", "queues": ["support"]},),
)


def test_supervisor_has_an_endpoint_auth_and_aor_like_an_agent() -> None:
    phones = render_config(SETTINGS, SECRETS, WITH_SUPERVISOR)["pjsip_phones.conf"]
    endpoint = section(phones, "1901", "endpoint")
    assert endpoint == {
        "context": "from-phones",
        "identify_by": "username",
        "auth": "1901",
        "aors": "1901",
        "callerid": '"Olga Smirnova" <1901>',
    }
    assert section(phones, "1901", "auth")["username"] == "1901"
    assert section(phones, "1901", "aor")["max_contacts"] == "1"
    assert "[1901](endpoint-common)" in phones.splitlines()


def test_supervisor_password_comes_from_the_yaml_or_the_secrets() -> None:
    phones = render_config(SETTINGS, SECRETS, WITH_SUPERVISOR)["pjsip_phones.conf"]
    assert section(phones, "1901", "auth")["password"] == "gen-1901"
    own = dialplan(
        supervisors=({"extension": "1901", "name": "Olga", "password": "Olga-phone-pw-9", "queues": ["support"]},)
    )
    assert (
        section(render_config(SETTINGS, SECRETS, own)["pjsip_phones.conf"], "1901", "auth")["password"]
        == "Olga-phone-pw-9"
    )


def test_phones_are_agents_then_supervisors() -> None:
    phones = render_config(SETTINGS, SECRETS, WITH_SUPERVISOR)["pjsip_phones.conf"]
    assert [name for name, body in sections(phones) if "callerid" in body] == ["1001", "1901"]


@pytest.mark.parametrize("bad", ["Kx9-vTq2\nmWp7-rZ", "Kx9-vTq2;mWp7-rZ"])  # strong, but for the one character
def test_supervisor_yaml_password_with_newline_or_semicolon_is_refused(bad: str) -> None:
    plan = dialplan(supervisors=({"extension": "1901", "name": "Olga", "password": bad, "queues": ["support"]},))
    with pytest.raises(ValueError, match="cannot go into an Asterisk config file"):
        render_config(SETTINGS, SECRETS, plan)


def test_carrier_aor_sends_calls_to_the_carrier_address_and_port() -> None:
    aor = render_config(SETTINGS, SECRETS, TWO_AGENTS)["pjsip_carrier_aor.conf"]
    assert sections(aor) == [
        ("carrier", {"type": "aor", "contact": "sip:198.51.100.7:5080", "qualify_frequency": "0"}),
    ]


def test_no_mailbox_in_the_dialplan_gives_an_empty_voicemail_context() -> None:
    assert render_config(SETTINGS, SECRETS, TWO_AGENTS)["voicemail_boxes.conf"] == "[callcenter]\n"


def voicemail(mailbox: str) -> dict[str, Any]:
    return {"action": "voicemail", "mailbox": mailbox}


def test_every_mailbox_the_dialplan_names_gets_one_box_in_name_order() -> None:
    plan = Dialplan.checked(
        {
            "numbers": {
                "88005553535": {"name": "L", "menu": "main", "hours": "day", "closed": voicemail("night")},
            },
            "hours": {"day": {"weekly": {"mon-fri": "09:00-18:00"}}},
            "menus": {
                "main": {
                    "greeting": ["hello"],
                    "options": {
                        "1": voicemail("sales"),
                        "2": {"action": "input", "name": "order", "prompts": ["p"], "then": voicemail("orders")},
                        "3": voicemail("sales"),
                    },
                    "hours": "day",
                    "closed": voicemail("after-hours"),
                }
            },
            "queues": {"support": {"name": "Support", "overflow": voicemail("support")}},
        }
    )
    assert render_config(SETTINGS, SECRETS, plan)["voicemail_boxes.conf"] == (
        "[callcenter]\n"
        "after-hours => ,after-hours\n"
        "night => ,night\n"
        "orders => ,orders\n"
        "sales => ,sales\n"
        "support => ,support\n"
    )


def test_transport_binds_the_sip_address_and_port() -> None:
    transport = render_config(SETTINGS, SECRETS, TWO_AGENTS)["pjsip_transport.conf"]
    body = section(transport, "transport-udp", "transport")
    assert body["bind"] == "192.0.2.10:5070"
    assert body["protocol"] == "udp"


def test_carrier_is_matched_by_its_address() -> None:
    files = render_config(SETTINGS, SECRETS, TWO_AGENTS)
    assert files["pjsip_carrier_match.conf"] == "match = 198.51.100.7\n"


def test_system_name_is_the_node() -> None:
    assert render_config(SETTINGS, SECRETS, TWO_AGENTS)["asterisk_options.conf"] == "systemname = pbx-test\n"


def test_ami_listens_where_the_settings_say() -> None:
    general = render_config(SETTINGS, SECRETS, TWO_AGENTS)["manager_general.conf"]
    assert "port = 5039\n" in general
    assert "bindaddr = 127.0.0.1\n" in general


def test_ami_user_has_the_secret_and_only_a_loopback_permit() -> None:
    users = render_config(SETTINGS, SECRETS, TWO_AGENTS)["manager_users.conf"]
    [(name, body)] = sections(users)
    assert name == "cc-ami"
    assert body["secret"] == "ami-s3cret"
    assert body["deny"] == "0.0.0.0/0.0.0.0"
    assert body["permit"] == "127.0.0.0/255.0.0.0"
    # deny everything first, then permit loopback: Asterisk applies the rules in order
    lines = users.splitlines()
    assert lines.index("deny = 0.0.0.0/0.0.0.0") < lines.index("permit = 127.0.0.0/255.0.0.0")


def test_ami_user_is_not_sent_the_events_the_service_never_reads() -> None:
    [(_, body)] = sections(render_config(SETTINGS, SECRETS, TWO_AGENTS)["manager_users.conf"])
    classes = body["read"].split(",")
    assert "dialplan" not in classes and "cdr" not in classes  # Newexten, VarSet, Cdr: most of a call's events
    assert {"call", "user", "system", "dtmf", "security"} <= set(classes)  # what calls/ and security/ read
    for name in ("VarSet", "Newexten", "TestEvent", "RTCPSent", "RTCPReceived"):
        assert body[f"eventfilter(action(exclude),name({name}))"] == ""


def test_agi_url_points_at_the_fastagi_server() -> None:
    globals_conf = render_config(SETTINGS, SECRETS, TWO_AGENTS)["extensions_globals.conf"]
    assert globals_conf == "CC_AGI_URL = agi://127.0.0.1:4600\n"


def test_db_password_is_not_in_any_asterisk_file() -> None:
    for text in render_config(SETTINGS, SECRETS, TWO_AGENTS).values():
        assert "db-pw" not in text


@pytest.mark.parametrize(
    "bad", ["Kx9-vTq2\nmWp7-rZ", "Kx9-vTq2\rmWp7-rZ", "Kx9-vTq2;mWp7-rZ", "Kx9-vTq2-mWp7\n[evil]\ntype = auth"]
)
def test_yaml_password_with_newline_or_semicolon_is_refused(bad: str) -> None:
    plan = dialplan({"extension": "1001", "name": "Anna", "password": bad})
    with pytest.raises(ValueError, match="cannot go into an Asterisk config file"):
        render_config(SETTINGS, SECRETS, plan)


@pytest.mark.parametrize("bad", ["Anna\nIvanova", "Anna;Ivanova", 'Anna "A" Ivanova', "Anna\\Ivanova", ""])
def test_agent_name_that_cannot_go_into_a_caller_id_is_refused_by_the_model(bad: str) -> None:
    # The model refuses it before confgen ever sees it.
    with pytest.raises(ValidationError) as caught:
        dialplan({"extension": "1001", "name": bad})
    assert [error["loc"] for error in caught.value.errors()] == [("agents", 0, "name")]


@pytest.mark.parametrize("bad", ["sec;ret", "sec\nret"])
def test_ami_secret_with_newline_or_semicolon_is_refused(bad: str) -> None:
    secrets = Secrets(ami_secret=bad, db_password="x", phone_passwords=SECRETS.phone_passwords, api_token="t")
    with pytest.raises(ValueError):
        render_config(SETTINGS, secrets, TWO_AGENTS)


def test_generated_phone_password_with_semicolon_is_refused() -> None:
    secrets = Secrets(ami_secret="a", db_password="b", phone_passwords={"1001": "p;w", "1002": "x"}, api_token="t")
    with pytest.raises(ValueError):
        render_config(SETTINGS, secrets, TWO_AGENTS)


_SETTING_FIELDS = ["node", "sip_host", "carrier_address", "ami_host", "ami_username", "agi_host"]
# Each would end the value, comment it out or open a section of its own.
_UNSAFE_VALUES = ["x\ny", "x\ry", "x;y", "x[y", "x]y", "x\0y", "0.0.0.0\n[evil]", "cc]\n[admin"]


@pytest.mark.parametrize("bad", _UNSAFE_VALUES)
@pytest.mark.parametrize("field", _SETTING_FIELDS)
def test_every_setting_with_config_syntax_in_it_is_refused(field: str, bad: str) -> None:
    settings = dataclasses.replace(SETTINGS, **{field: bad})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot go into an Asterisk config file") as caught:
        render_config(settings, SECRETS, TWO_AGENTS)
    assert repr(bad) in str(caught.value)


@pytest.mark.parametrize("bad", ["x[y", "x]y", "x\0y"])
def test_secret_with_brackets_or_nul_is_refused(bad: str) -> None:
    secrets = Secrets(ami_secret=bad, db_password="x", phone_passwords=SECRETS.phone_passwords, api_token="t")
    with pytest.raises(ValueError, match="cannot go into an Asterisk config file"):
        render_config(SETTINGS, secrets, TWO_AGENTS)


@pytest.mark.parametrize("field", _SETTING_FIELDS)
def test_ordinary_setting_values_are_written_unchanged(field: str) -> None:
    value = "host-1.example.net" if field != "ami_username" else "cc_ami-2"
    files = render_config(dataclasses.replace(SETTINGS, **{field: value}), SECRETS, TWO_AGENTS)  # type: ignore[arg-type]
    assert any(value in text for text in files.values())


def test_write_config_writes_every_file_private_to_its_owner(tmp_path: Path) -> None:
    files = render_config(SETTINGS, SECRETS, TWO_AGENTS)
    target = tmp_path / "generated"
    write_config(target, files)
    assert sorted(path.name for path in target.iterdir()) == sorted(files)
    for name, text in files.items():
        path = target / name
        assert path.read_text() == text
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_config_replaces_existing_files_and_makes_them_private(tmp_path: Path) -> None:
    old = tmp_path / "manager_users.conf"
    old.write_text("stale\n")
    old.chmod(0o644)
    write_config(tmp_path, {"manager_users.conf": "fresh\n"})
    assert old.read_text() == "fresh\n"
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def test_write_config_leaves_no_temporary_files(tmp_path: Path) -> None:
    write_config(tmp_path, render_config(SETTINGS, SECRETS, TWO_AGENTS))
    assert not list(tmp_path.glob("*.tmp"))
