"""Agents' presence (BLF): the ACD state -> device state mapping, and the hints Asterisk gets for it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from callcenter.acd.events import AgentState
from callcenter.asterisk.confgen import PRESENCE_CONTEXT, presence_device, presence_hint, render_config
from callcenter.calls import presence
from callcenter.calls.presence import DEVICE_STATES, device_state
from callcenter.config import Secrets, Settings
from callcenter.dialplan.model import Dialplan

ASTERISK = Path(__file__).resolve().parents[2] / "asterisk"
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


def hints(plan: Dialplan, run_dir: Path) -> str:
    secrets = Secrets.load(run_dir, [phone.extension for phone in plan.phones()])
    return render_config(Settings(run_dir=run_dir), secrets, plan)["extensions_presence.conf"]


TWO_AGENTS = dialplan({"extension": "1001", "name": "Anna Ivanova"}, {"extension": "1002", "name": "Boris Petrov"})

# What func_devstate accepts for a Custom device (DEVICE_STATE's documentation).
ASTERISK_DEVICE_STATES = {
    "UNKNOWN",
    "NOT_INUSE",
    "INUSE",
    "BUSY",
    "INVALID",
    "UNAVAILABLE",
    "RINGING",
    "RINGINUSE",
    "ONHOLD",
}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (AgentState.LOGGED_OUT, "UNAVAILABLE"),
        (AgentState.AVAILABLE, "NOT_INUSE"),
        (AgentState.RINGING, "RINGING"),
        (AgentState.ON_CALL, "INUSE"),
        (AgentState.WRAP_UP, "BUSY"),
        (AgentState.PAUSED, "ONHOLD"),
    ],
)
def test_each_acd_state_shows_as_its_device_state(state: AgentState, expected: str) -> None:
    assert device_state(state) == expected


def test_every_acd_state_has_a_device_state_that_asterisk_accepts() -> None:
    assert set(DEVICE_STATES) == set(AgentState)
    assert set(DEVICE_STATES.values()) <= ASTERISK_DEVICE_STATES


def test_no_two_acd_states_look_the_same_to_a_hint() -> None:
    assert len(set(DEVICE_STATES.values())) == len(DEVICE_STATES)


def test_only_an_available_agent_shows_idle() -> None:
    # NOT_INUSE and UNKNOWN (a custom state never set) are the hint's Idle; only "available" may look so.
    idle = [state for state, shown in DEVICE_STATES.items() if shown in {"NOT_INUSE", "UNKNOWN"}]
    assert idle == [AgentState.AVAILABLE]


def test_the_documented_table_is_the_mapping() -> None:
    assert presence.__doc__ is not None
    rows = re.findall(r"^(\w+)\s+([A-Z_]+)\s+\w+ \(\d+\)", presence.__doc__, re.MULTILINE)
    assert dict(rows) == {str(state): shown for state, shown in DEVICE_STATES.items()}


def test_the_mapping_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        DEVICE_STATES[AgentState.PAUSED] = "NOT_INUSE"  # type: ignore[index]


# --- the hints, generated from the dialplan's agents ---------------------------------------------------------


def test_agent_hint_is_star_8_and_the_extension_on_its_custom_device() -> None:
    assert presence_hint("1001") == "*81001"
    assert presence_device("1001") == "Custom:cc-agent-1001"


def test_every_agent_gets_a_hint_on_its_custom_device_in_the_presence_context(tmp_path: Path) -> None:
    assert hints(TWO_AGENTS, tmp_path) == (
        "[cc-presence]\n"
        "exten => *81001,hint,Custom:cc-agent-1001\n"
        "exten => *81001,1,Hangup()\n"
        "exten => *81002,hint,Custom:cc-agent-1002\n"
        "exten => *81002,1,Hangup()\n"
    )


def test_supervisors_get_no_presence_hint(tmp_path: Path) -> None:
    plan = dialplan(
        {"extension": "1001", "name": "Anna Ivanova"},
        supervisors=({"extension": "1901", "name": "Olga Smirnova", "queues": ["support"]},),
    )
    text = hints(plan, tmp_path)
    assert "1001" in text
    assert "1901" not in text


def test_no_agents_still_defines_the_presence_context(tmp_path: Path) -> None:
    assert hints(dialplan(), tmp_path) == "[cc-presence]\n"


def _context(conf: str, name: str) -> list[str]:
    """The lines of context ``name`` in an extensions.conf text, comments dropped."""
    lines: list[str] = []
    current = None
    for raw in conf.splitlines():
        line = raw.split(";", 1)[0].strip()
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            current = header.group(1)
        elif line and current == name:
            lines.append(line)
    return lines


def test_phones_dialplan_context_includes_the_generated_hints() -> None:
    conf = (ASTERISK / "extensions.conf").read_text()
    # Phones subscribe in their context (from-phones): the hints must be reachable from it.
    assert f"include => {PRESENCE_CONTEXT}" in _context(conf, "from-phones")
    assert "#include /srv/callcenter/run/generated/extensions_presence.conf" in conf.splitlines()


def test_asterisk_loads_what_subscriptions_and_custom_device_states_need() -> None:
    loaded = set(re.findall(r"^load => (\S+)\.so$", (ASTERISK / "modules.conf").read_text(), re.MULTILINE))
    assert {
        "func_devstate",
        "res_pjsip_pubsub",
        "res_pjsip_exten_state",
        "res_pjsip_outbound_publish",  # res_pjsip_exten_state requires it
        "res_pjsip_dialog_info_body_generator",
        "res_pjsip_pidf_body_generator",
    } <= loaded
