"""callcenter.dialplan.model: references between sections, menus with no way out, and the new actions' rules."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from callcenter.dialplan.model import CollectDigits, Dialplan, GotoMenu, PlayMessage, ToNumber, ToQueue, ToVoicemail

LINE = "+78005553535"
TRAPPED = (
    "no option of this menu, or of the menus it leads to, ever ends the menus "
    "(a message, queue, number, voicemail or hangup): callers can only go round in circles"
)


def message(*prompts: str) -> dict[str, Any]:
    return {"action": "message", "prompts": list(prompts or ["bye"])}


def goto(menu: str) -> dict[str, Any]:
    return {"action": "menu", "menu": menu}


def queue(name: str) -> dict[str, Any]:
    return {"action": "queue", "queue": name}


def collect(then: dict[str, Any]) -> dict[str, Any]:
    return {"action": "input", "name": "order", "prompts": ["cc/enter-order"], "then": then}


def menu(**options: dict[str, Any]) -> dict[str, Any]:
    return {"greeting": ["hello"], "options": {key.removeprefix("k"): option for key, option in options.items()}}


def data(**sections: Any) -> dict[str, Any]:
    """A valid dialplan, with ``sections`` replacing its own."""
    base: dict[str, Any] = {
        "numbers": {LINE: {"name": "Line", "menu": "main"}},
        "menus": {"main": menu(k1=message(), k2=queue("sales"))},
        "hours": {"night": {"weekly": {"daily": "20:00-08:00"}}},
        "queues": {"sales": {"name": "Sales"}, "support": {"name": "Support"}},
        "agents": [{"extension": "1001", "name": "Anna", "queues": ["sales"]}],
        "supervisors": [{"extension": "1901", "name": "Olga", "queues": ["sales", "support"]}],
    }
    return {**base, **sections}


def problems(**sections: Any) -> list[tuple[tuple[str, ...], str]]:
    return Dialplan.model_validate(data(**sections)).reference_problems()


def test_the_base_dialplan_has_no_problems() -> None:
    assert problems() == []


# --- references, each at its location -----------------------------------------------------------------------

REFERENCES = [
    pytest.param(
        {"numbers": {LINE: {"name": "Line", "menu": "mian"}}},
        [(("numbers", LINE, "menu"), "menu 'mian' is not defined (did you mean 'main'?)")],
        id="number-menu",
    ),
    pytest.param(
        {"numbers": {LINE: {"name": "Line", "menu": "main", "hours": "nite", "closed": message()}}},
        [(("numbers", LINE, "hours"), "schedule 'nite' is not defined (did you mean 'night'?)")],
        id="number-hours",
    ),
    pytest.param(
        {"menus": {"main": {**menu(k1=message()), "hours": "weekend", "closed": message()}}},
        [(("menus", "main", "hours"), "schedule 'weekend' is not defined")],
        id="menu-hours",
    ),
    pytest.param(
        {"menus": {"main": menu(k1=message(), k2=queue("sale"))}},
        [(("menus", "main", "options", "2", "queue"), "queue 'sale' is not defined (did you mean 'sales'?)")],
        id="option-queue",
    ),
    pytest.param(
        {"menus": {"main": menu(k1=message(), k5=goto("gone"))}},
        [(("menus", "main", "options", "5", "menu"), "menu 'gone' is not defined")],
        id="option-menu",
    ),
    pytest.param(
        {"menus": {"main": menu(k1=message(), k3=collect(goto("orders")))}},
        [(("menus", "main", "options", "3", "then", "menu"), "menu 'orders' is not defined")],
        id="input-then-menu",
    ),
    pytest.param(
        {"menus": {"main": menu(k1=message(), k3=collect(queue("order")))}},
        [(("menus", "main", "options", "3", "then", "queue"), "queue 'order' is not defined")],
        id="input-then-queue",
    ),
    pytest.param(
        {"menus": {"main": menu(k1=message(), k3=collect(collect(queue("salse"))))}},
        [
            (
                ("menus", "main", "options", "3", "then", "then", "queue"),
                "queue 'salse' is not defined (did you mean 'sales'?)",
            )
        ],
        id="input-then-input-then-queue",
    ),
    pytest.param(
        {"numbers": {LINE: {"name": "Line", "menu": "main", "hours": "night", "closed": goto("after-hours")}}},
        [(("numbers", LINE, "closed", "menu"), "menu 'after-hours' is not defined")],
        id="number-closed-menu",
    ),
    pytest.param(
        {"menus": {"main": {**menu(k1=message()), "hours": "night", "closed": queue("night-shift")}}},
        [(("menus", "main", "closed", "queue"), "queue 'night-shift' is not defined")],
        id="menu-closed-queue",
    ),
    pytest.param(
        {"queues": {"sales": {"name": "Sales", "overflow": queue("suport")}, "support": {"name": "Support"}}},
        [(("queues", "sales", "overflow", "queue"), "queue 'suport' is not defined (did you mean 'support'?)")],
        id="queue-overflow",
    ),
    pytest.param(
        {"agents": [{"extension": "1001", "name": "A"}, {"extension": "1002", "name": "B", "queues": ["billing"]}]},
        [(("agents", "1", "queues"), "queue 'billing' is not defined")],
        id="agent-queues",
    ),
    pytest.param(
        {"supervisors": [{"extension": "1901", "name": "Olga", "queues": ["sales", "support", "vip"]}]},
        [(("supervisors", "0", "queues"), "queue 'vip' is not defined")],
        id="supervisor-queues",
    ),
    pytest.param(
        {"supervisors": [{"extension": "1001", "name": "Olga", "queues": ["sales"]}]},
        [(("supervisors", "0", "extension"), "extension 1001 is defined twice")],
        id="extension-of-an-agent-and-a-supervisor",
    ),
    pytest.param(
        {
            "supervisors": [
                {"extension": "1901", "name": "Olga", "queues": ["sales"]},
                {"extension": "1901", "name": "Ivan", "queues": ["support"]},
            ]
        },
        [(("supervisors", "1", "extension"), "extension 1901 is defined twice")],
        id="extension-of-two-supervisors",
    ),
]


@pytest.mark.parametrize(("sections", "expected"), REFERENCES)
def test_reference_problem_is_reported_at_its_location(
    sections: dict[str, Any], expected: list[tuple[tuple[str, ...], str]]
) -> None:
    assert problems(**sections) == expected


@pytest.mark.parametrize(("sections", "expected"), REFERENCES)
def test_checked_raises_the_reference_problem_with_its_dotted_location(
    sections: dict[str, Any], expected: list[tuple[tuple[str, ...], str]]
) -> None:
    [(location, message_text)] = expected
    with pytest.raises(ValueError) as caught:
        Dialplan.checked(data(**sections))
    assert str(caught.value) == f"{'.'.join(location)}: {message_text}"


def test_an_agent_with_two_missing_queues_is_reported_once_per_queue() -> None:
    agents = [{"extension": "1001", "name": "A", "queues": ["x", "sales", "y"]}]
    assert problems(agents=agents) == [
        (("agents", "0", "queues"), "queue 'x' is not defined"),
        (("agents", "0", "queues"), "queue 'y' is not defined"),
    ]


def test_every_reference_problem_is_reported_in_order() -> None:
    assert problems(
        numbers={LINE: {"name": "Line", "menu": "nowhere"}},
        queues={"sales": {"name": "Sales", "overflow": queue("none")}},
        agents=[{"extension": "1001", "name": "A", "queues": ["support"]}],
        supervisors=[{"extension": "1001", "name": "O", "queues": ["sales"]}],
    ) == [
        (("numbers", LINE, "menu"), "menu 'nowhere' is not defined"),
        (("queues", "sales", "overflow", "queue"), "queue 'none' is not defined"),
        (("agents", "0", "queues"), "queue 'support' is not defined"),
        (("supervisors", "0", "extension"), "extension 1001 is defined twice"),
    ]


# --- menus with no way out -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("menus", "trapped"),
    [
        pytest.param(
            {"main": menu(k1=goto("other")), "other": menu(k1=goto("main"))}, ["main", "other"], id="two-menus"
        ),
        pytest.param({"main": menu(k1=goto("main"))}, ["main"], id="menu-to-itself"),
        pytest.param({"main": menu(k1={"action": "repeat"}, k2={"action": "back"})}, ["main"], id="repeat-and-back"),
        pytest.param({"main": menu(k1=collect(goto("main")))}, ["main"], id="input-then-same-menu"),
        pytest.param({"main": menu(k1=collect({"action": "back"}))}, ["main"], id="input-then-back"),
        pytest.param(
            {
                "main": menu(k1=message(), k2=goto("a")),
                "a": menu(k1=goto("b"), k2={"action": "back"}),
                "b": menu(k1=goto("a"), k2={"action": "repeat"}),
            },
            ["a", "b"],
            id="cycle-below-a-menu-with-a-way-out",
        ),
        pytest.param(
            {
                "main": {**menu(k1=goto("main")), "hours": "night", "closed": message()},
            },
            ["main"],
            id="way-out-only-when-closed",
        ),
    ],
)
def test_menus_that_only_lead_to_each_other_are_reported(menus: dict[str, Any], trapped: list[str]) -> None:
    assert problems(menus=menus) == [(("menus", name), TRAPPED) for name in trapped]


@pytest.mark.parametrize(
    "menus",
    [
        pytest.param({"main": menu(k1=goto("other")), "other": menu(k1=goto("main"), k2=message())}, id="exit-in-b"),
        pytest.param(
            {"main": menu(k1=goto("a")), "a": menu(k1=goto("b")), "b": menu(k1=goto("main"), k9=queue("sales"))},
            id="exit-at-the-end-of-a-chain",
        ),
        pytest.param({"main": menu(k1={"action": "repeat"}, k2={"action": "hangup"})}, id="hangup"),
        pytest.param({"main": menu(k1=collect(queue("sales")))}, id="input-then-queue"),
        pytest.param({"main": menu(k1={"action": "number", "number": "+74951234567"})}, id="number"),
        pytest.param({"main": menu(k1={"action": "voicemail", "mailbox": "sales"})}, id="voicemail"),
    ],
)
def test_a_cycle_with_a_way_out_is_not_reported(menus: dict[str, Any]) -> None:
    assert problems(menus=menus) == []


def test_input_then_input_then_back_is_no_way_out() -> None:
    assert problems(menus={"main": menu(k1=collect(collect({"action": "back"})))}) == [(("menus", "main"), TRAPPED)]


# --- hours and closed ------------------------------------------------------------------------------------------

_TOGETHER = "Value error, `hours` and `closed` go together: the schedule, and what happens outside it"


@pytest.mark.parametrize(
    ("sections", "location"),
    [
        pytest.param(
            {"numbers": {LINE: {"name": "L", "menu": "main", "hours": "night"}}}, ("numbers", LINE), id="n-hours"
        ),
        pytest.param(
            {"numbers": {LINE: {"name": "L", "menu": "main", "closed": message()}}}, ("numbers", LINE), id="n-closed"
        ),
        pytest.param({"menus": {"main": {**menu(k1=message()), "hours": "night"}}}, ("menus", "main"), id="m-hours"),
        pytest.param(
            {"menus": {"main": {**menu(k1=message()), "closed": message()}}}, ("menus", "main"), id="m-closed"
        ),
    ],
)
def test_hours_and_closed_go_together(sections: dict[str, Any], location: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        Dialplan.model_validate(data(**sections))
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [(location, _TOGETHER)]


@pytest.mark.parametrize("action", ["repeat", "back"])
def test_what_happens_when_a_line_is_closed_cannot_be_repeat_or_back(action: str) -> None:
    line = {"name": "L", "menu": "main", "hours": "night", "closed": {"action": action}}
    with pytest.raises(ValidationError) as caught:
        Dialplan.model_validate(data(numbers={LINE: line}))
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [
        (("numbers", LINE, "closed"), f"Value error, '{action}' cannot be what happens when closed")
    ]


@pytest.mark.parametrize("action", ["repeat", "back"])
def test_what_happens_when_a_menu_is_closed_cannot_be_repeat_or_back(action: str) -> None:
    main = {**menu(k1=message()), "hours": "night", "closed": {"action": action}}
    with pytest.raises(ValidationError) as caught:
        Dialplan.model_validate(data(menus={"main": main}))
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [
        (("menus", "main", "closed"), f"Value error, '{action}' cannot be what happens when closed")
    ]


@pytest.mark.parametrize(
    "closed",
    [message("cc/closed"), goto("main"), queue("sales"), {"action": "hangup"}, collect(message())],
)
def test_what_happens_when_closed_can_be_any_other_action(closed: dict[str, Any]) -> None:
    line = {"name": "L", "menu": "main", "hours": "night", "closed": closed}
    assert Dialplan.checked(data(numbers={LINE: line})).numbers[LINE].hours == "night"


# --- actions ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), [(5, 4), (32, 1), (2, 1)])
def test_input_with_min_digits_above_max_digits_is_refused(low: int, high: int) -> None:
    option = {**collect(message()), "min_digits": low, "max_digits": high}
    with pytest.raises(ValidationError) as caught:
        Dialplan.model_validate(data(menus={"main": menu(k1=option)}))
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [
        (
            ("menus", "main", "options", "1", "input"),
            f"Value error, min_digits ({low}) is more than max_digits ({high})",
        )
    ]


@pytest.mark.parametrize(("low", "high"), [(1, 1), (4, 4), (1, 32)])
def test_input_with_min_digits_up_to_max_digits_is_accepted(low: int, high: int) -> None:
    option = {**collect(message()), "min_digits": low, "max_digits": high}
    parsed = Dialplan.checked(data(menus={"main": menu(k1=option)})).menus["main"].options["1"]
    assert isinstance(parsed, CollectDigits)
    assert (parsed.min_digits, parsed.max_digits) == (low, high)


def test_input_defaults() -> None:
    parsed = Dialplan.checked(data(menus={"main": menu(k1=collect(message("cc/thanks")))})).menus["main"].options["1"]
    assert parsed == CollectDigits(
        name="order",
        prompts=("cc/enter-order",),
        min_digits=1,
        max_digits=16,
        terminator="#",
        timeout=10.0,
        retries=3,
        invalid=("invalid",),
        then=PlayMessage(prompts=("cc/thanks",)),
    )


@pytest.mark.parametrize("written", ["+7 495 123-45-67", "8 (495) 123-45-67", "74951234567", "4951234567"])
def test_number_action_normalizes_the_number(written: str) -> None:
    option = {"action": "number", "number": written}
    parsed = Dialplan.checked(data(menus={"main": menu(k1=option)})).menus["main"].options["1"]
    assert parsed == ToNumber(number="+74951234567")


def test_number_action_that_is_no_number_is_refused_at_its_place() -> None:
    option = {"action": "number", "number": "call me"}
    with pytest.raises(ValidationError) as caught:
        Dialplan.model_validate(data(menus={"main": menu(k1=option)}))
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [
        (
            ("menus", "main", "options", "1", "number", "number"),
            "Value error, 'call me' is not a phone number: use digits, optionally after a '+'",
        )
    ]


def test_actions_lists_every_action_with_its_location_nested_ones_included() -> None:
    dialplan = Dialplan.checked(
        data(
            numbers={LINE: {"name": "L", "menu": "main", "hours": "night", "closed": goto("main")}},
            menus={"main": {**menu(k1=collect(queue("sales")), k2=message()), "hours": "night", "closed": message()}},
            queues={"sales": {"name": "S", "overflow": {"action": "voicemail", "mailbox": "sales"}}},
            agents=[],
            supervisors=[],
        )
    )
    assert list(dialplan.actions()) == [
        (("numbers", LINE, "closed"), GotoMenu(menu="main")),
        (("menus", "main", "options", "1"), dialplan.menus["main"].options["1"]),
        (("menus", "main", "options", "1", "then"), ToQueue(queue="sales")),
        (("menus", "main", "options", "2"), PlayMessage(prompts=("bye",))),
        (("menus", "main", "closed"), PlayMessage(prompts=("bye",))),
        (("queues", "sales", "overflow"), ToVoicemail(mailbox="sales")),
    ]


def test_phones_are_the_agents_then_the_supervisors() -> None:
    dialplan = Dialplan.checked(data())
    assert [person.extension for person in dialplan.phones()] == ["1001", "1901"]


# --- caller lists ----------------------------------------------------------------------------------------------


def test_list_entries_are_normalized_and_deduplicated_in_order() -> None:
    lists = {
        "blacklist": {"numbers": ["8 (495) 700*", "+7 916 123-45-67", "+7495700*", "89161234567"]},
        "whitelist": {"numbers": ["+1 212 555 0100", "8 800 *"]},
        "vip": {"numbers": ["4957001234"]},
    }
    parsed = Dialplan.checked(data(lists=lists)).lists
    assert parsed.blacklist.numbers == ("+7495700*", "+79161234567")
    assert parsed.whitelist.numbers == ("+12125550100", "+7800*")
    assert parsed.vip.numbers == ("+74957001234",)


@pytest.mark.parametrize(
    ("entry", "message_text"),
    [
        ("7999*", "'7999*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("999*", "'999*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("+*", "'+*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("+7 9x*", "'+7 9x*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("call me", "'call me' is not a phone number: use digits, optionally after a '+'"),
    ],
)
def test_list_entry_that_is_no_number_or_prefix_is_refused(entry: str, message_text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Dialplan.model_validate(data(lists={"whitelist": {"numbers": ["+79160000001", entry]}}))
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [
        (("lists", "whitelist", "numbers"), f"Value error, {message_text}")
    ]


@pytest.mark.parametrize(
    ("caller", "blacklisted", "whitelisted", "vip"),
    [
        ("+74957001234", True, False, False),
        ("+79161234567", False, True, False),
        ("+79167777777", False, False, True),
        ("+74951234567", False, False, False),
        (None, False, False, False),
        ("", False, False, False),
    ],
)
def test_dialplan_matches_callers_against_its_lists(
    caller: str | None, blacklisted: bool, whitelisted: bool, vip: bool
) -> None:
    lists = {
        "blacklist": {"numbers": ["8 (495) 700*"]},
        "whitelist": {"numbers": ["+7 916 123-45-67"]},
        "vip": {"numbers": ["+7 916 777*"]},
    }
    dialplan = Dialplan.checked(data(lists=lists))
    assert (dialplan.blacklisted(caller), dialplan.whitelisted(caller), dialplan.vip(caller)) == (
        blacklisted,
        whitelisted,
        vip,
    )
