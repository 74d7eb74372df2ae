"""callcenter.ivr.interpreter: what each action does, inputs, repeat and back, caller lists, hours, language, VIP."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from callcenter.dialplan.model import Dialplan, ToNumber, ToQueue, ToVoicemail
from callcenter.ivr.interpreter import (
    CAUSE_REJECTED,
    CallContext,
    Collect,
    Finish,
    IvrSession,
    IvrStateError,
    Refuse,
    Turn,
)
from callcenter.records import IvrStep, Outcome

LINE = "+78005553535"
MOSCOW = ZoneInfo("Europe/Moscow")
TUESDAY_NOON = datetime(2027, 1, 12, 12, 0, tzinfo=MOSCOW)
ALWAYS_OPEN: dict[str, Any] = {"weekly": {"daily": "00:00-24:00"}}
NEVER_OPEN: dict[str, Any] = {"weekly": {}}  # no day has hours
OFFICE_HOURS: dict[str, Any] = {"weekly": {"mon-fri": "09:00-18:00"}, "holidays": ["2027-01-01..2027-01-08"]}

BLOCKED = "+79990000000"
TRUSTED = "+79160000001"
VIP = "+79167777777"
STRANGER = "+79161234567"


def message(*prompts: str) -> dict[str, Any]:
    return {"action": "message", "prompts": list(prompts)}


def goto(menu: str) -> dict[str, Any]:
    return {"action": "menu", "menu": menu}


REPEAT = {"action": "repeat"}
BACK = {"action": "back"}

MAIN: dict[str, Any] = {
    "greeting": ["cc/main"],
    "no_input": ["cc/main-bye"],
    "options": {"0": message("cc/bye"), "2": goto("sub"), "*": REPEAT, "#": BACK},
}
SUB: dict[str, Any] = {
    "greeting": ["cc/sub"],
    "retries": 2,
    "options": {"1": message("cc/sub-bye"), "3": goto("deep"), "*": REPEAT, "#": BACK},
}
DEEP: dict[str, Any] = {"greeting": ["cc/deep"], "options": {"1": message("cc/deep-bye"), "#": BACK}}
MAIN_COLLECT = Collect("main", ("cc/main",), 5.0, "02*#")
SUB_COLLECT = Collect("sub", ("cc/sub",), 5.0, "13*#")
DEEP_COLLECT = Collect("deep", ("cc/deep",), 5.0, "1#")
QUEUES = {"support": {"name": "Support"}, "orders": {"name": "Orders"}}


def plan(
    menus: dict[str, Any] | None = None,
    line: dict[str, Any] | None = None,
    hours: dict[str, Any] | None = None,
    lists: dict[str, Any] | None = None,
) -> Dialplan:
    return Dialplan.checked(
        {
            "numbers": {LINE: {"name": "Line", "menu": "main", **(line or {})}},
            "menus": menus if menus is not None else {"main": MAIN, "sub": SUB, "deep": DEEP},
            "hours": hours or {},
            "queues": QUEUES,
            "lists": lists or {},
        }
    )


def session(dialplan: Dialplan | None = None, caller: str | None = None, at: datetime = TUESDAY_NOON) -> IvrSession:
    dialplan = dialplan if dialplan is not None else plan()
    line = dialplan.line_for(LINE)
    assert line is not None
    return IvrSession(dialplan, line, CallContext(caller, at))


def main_with(option: dict[str, Any], **changes: Any) -> Dialplan:
    """The usual menus, with ``option`` on key 1 of main."""
    return plan({"main": {**MAIN, "options": {**MAIN["options"], "1": option}, **changes}, "sub": SUB, "deep": DEEP})


def walk(ivr: IvrSession, *keys: str | None) -> Turn:
    turn = ivr.start()
    for key in keys:
        turn = ivr.press(key)
    return turn


# --- each action, from a menu option ----------------------------------------------------------------------

QUEUE = {"action": "queue", "queue": "support", "prompts": ["cc/connecting"]}
NUMBER = {"action": "number", "number": "8 (495) 123-45-67", "prompts": ["cc/transferring"]}
VOICEMAIL = {"action": "voicemail", "mailbox": "support", "prompts": ["cc/voicemail-intro"]}
ENDINGS = [
    pytest.param(
        message("cc/thanks", "vm-goodbye"), ("cc/thanks", "vm-goodbye"), Finish(Outcome.COMPLETED), id="message"
    ),
    pytest.param({"action": "hangup"}, (), Finish(Outcome.COMPLETED), id="hangup"),
    pytest.param(
        {"action": "hangup", "prompts": ["vm-goodbye"]}, ("vm-goodbye",), Finish(Outcome.COMPLETED), id="hangup-prompts"
    ),
    pytest.param(
        QUEUE,
        ("cc/connecting",),
        Finish(Outcome.QUEUED, ToQueue(queue="support", prompts=("cc/connecting",))),
        id="queue",
    ),
    pytest.param(
        {"action": "queue", "queue": "orders"}, (), Finish(Outcome.QUEUED, ToQueue(queue="orders")), id="queue-quiet"
    ),
    pytest.param(
        NUMBER,
        ("cc/transferring",),
        Finish(Outcome.TRANSFERRED, ToNumber(number="+74951234567", prompts=("cc/transferring",))),
        id="number",
    ),
    pytest.param(
        VOICEMAIL,
        ("cc/voicemail-intro",),
        Finish(Outcome.VOICEMAIL, ToVoicemail(mailbox="support", prompts=("cc/voicemail-intro",))),
        id="voicemail",
    ),
]


@pytest.mark.parametrize(("option", "play", "end"), ENDINGS)
def test_option_that_ends_the_ivr_plays_its_prompts_and_finishes(
    option: dict[str, Any], play: tuple[str, ...], end: Finish
) -> None:
    ivr = session(main_with(option))
    ivr.start()
    assert ivr.press("1") == Turn(play, end, "ru")
    assert end.reason == ""  # in hours: no reason
    assert ivr.outcome is end.outcome
    assert ivr.path == [IvrStep("main", "1")]


@pytest.mark.parametrize(("option", "play", "end"), ENDINGS)
def test_announce_key_is_said_before_the_prompts_of_every_ending(
    option: dict[str, Any], play: tuple[str, ...], end: Finish
) -> None:
    ivr = session(main_with(option, announce_key=True))
    ivr.start()
    assert ivr.press("1") == Turn(("you-entered", "digits/1", *play), end, "ru")


@pytest.mark.parametrize(("option", "play", "end"), ENDINGS)
def test_pressing_after_an_ending_raises(option: dict[str, Any], play: tuple[str, ...], end: Finish) -> None:
    ivr = session(main_with(option))
    ivr.start()
    ivr.press("1")
    with pytest.raises(IvrStateError):
        ivr.press("1")
    assert ivr.outcome is end.outcome


def test_menu_option_collects_in_the_other_menu() -> None:
    ivr = session()
    assert walk(ivr, "2") == Turn((), SUB_COLLECT, "ru")
    assert ivr.menu == "sub"
    assert ivr.outcome is None


# --- repeat -------------------------------------------------------------------------------------------------


def test_repeat_plays_the_same_menu_again() -> None:
    ivr = session()
    ivr.start()
    assert ivr.press("*") == Turn((), MAIN_COLLECT, "ru")
    assert ivr.path == [IvrStep("main", "*")]


def test_repeat_says_the_key_when_the_menu_announces_keys() -> None:
    ivr = session(plan({"main": {**MAIN, "announce_key": True}, "sub": SUB, "deep": DEEP}))
    ivr.start()
    assert ivr.press("*") == Turn(("you-entered", "digits/star"), MAIN_COLLECT, "ru")


def test_repeat_gives_the_menu_fresh_attempts() -> None:
    # Repeat is a valid choice, not a failed attempt: the count starts over (main allows 3).
    ivr = session()
    ivr.start()
    ivr.press(None)
    ivr.press(None)  # main's last attempt is being collected
    assert ivr.press("*") == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press(None) == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press(None) == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press(None) == Turn(("cc/main-bye",), Finish(Outcome.NO_VALID_INPUT), "ru")


def test_repeat_can_be_chosen_any_number_of_times() -> None:
    ivr = session()
    ivr.start()
    for _ in range(20):
        assert ivr.press("*") == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press("0").then == Finish(Outcome.COMPLETED)


def test_repeat_in_a_submenu_keeps_the_way_back() -> None:
    ivr = session()
    assert walk(ivr, "2", "*", "*") == Turn((), SUB_COLLECT, "ru")
    assert ivr.press("#") == Turn((), MAIN_COLLECT, "ru")


# --- back ---------------------------------------------------------------------------------------------------


def test_back_returns_to_the_menu_the_caller_came_from() -> None:
    ivr = session()
    assert walk(ivr, "2", "#") == Turn((), MAIN_COLLECT, "ru")
    assert ivr.menu == "main"


def test_back_at_the_top_stays_in_the_same_menu() -> None:
    ivr = session()
    ivr.start()
    assert ivr.press("#") == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press("#") == Turn((), MAIN_COLLECT, "ru")
    assert ivr.path == [IvrStep("main", "#"), IvrStep("main", "#")]


def test_back_walks_up_one_menu_at_a_time() -> None:
    ivr = session()
    assert walk(ivr, "2", "3") == Turn((), DEEP_COLLECT, "ru")
    assert ivr.press("#") == Turn((), SUB_COLLECT, "ru")
    assert ivr.press("#") == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press("#") == Turn((), MAIN_COLLECT, "ru")


def test_back_at_the_top_gives_fresh_attempts() -> None:
    ivr = session()
    ivr.start()
    ivr.press(None)
    ivr.press(None)
    assert ivr.press("#") == Turn((), MAIN_COLLECT, "ru")
    assert [ivr.press(None).then for _ in range(3)] == [MAIN_COLLECT, MAIN_COLLECT, Finish(Outcome.NO_VALID_INPUT)]


def test_back_after_going_back_does_not_return_to_the_submenu() -> None:
    ivr = session()
    assert walk(ivr, "2", "#", "#") == Turn((), MAIN_COLLECT, "ru")


# --- input ------------------------------------------------------------------------------------------------

INPUT: dict[str, Any] = {
    "action": "input",
    "name": "order",
    "prompts": ["cc/enter-order"],
    "min_digits": 3,
    "max_digits": 5,
    "retries": 3,
    "invalid": ["cc/bad-order"],
    "timeout": 8,
    "then": {"action": "queue", "queue": "orders", "prompts": ["cc/order-noted"]},
}
INPUT_COLLECT = Collect("main", ("cc/enter-order",), 8.0, "0123456789*#", max_digits=5, terminator="#", input="order")
QUEUED_FOR_ORDERS = Turn(
    ("cc/order-noted",), Finish(Outcome.QUEUED, ToQueue(queue="orders", prompts=("cc/order-noted",))), "ru"
)


def input_session(**changes: Any) -> IvrSession:
    return session(main_with({**INPUT, **changes}))


def test_input_option_asks_for_digits_in_the_same_menu() -> None:
    ivr = input_session()
    ivr.start()
    assert ivr.press("1") == Turn((), INPUT_COLLECT, "ru")
    assert ivr.menu == "main"


def test_input_option_says_the_key_when_the_menu_announces_keys() -> None:
    ivr = session(main_with(INPUT, announce_key=True))
    ivr.start()
    assert ivr.press("1") == Turn(("you-entered", "digits/1"), INPUT_COLLECT, "ru")


def test_input_without_terminator_asks_without_one() -> None:
    ivr = input_session(terminator=None)
    ivr.start()
    then = ivr.press("1").then
    assert isinstance(then, Collect)
    assert then.terminator is None


@pytest.mark.parametrize("digits", ["123", "1234", "12345", "000", "99999"])
def test_valid_digits_are_stored_and_then_is_applied(digits: str) -> None:
    ivr = input_session()
    ivr.start()
    ivr.press("1")
    assert ivr.press(digits) == QUEUED_FOR_ORDERS
    assert ivr.inputs == {"order": digits}
    assert ivr.outcome is Outcome.QUEUED
    assert ivr.path == [IvrStep("main", "1"), IvrStep("main", digits)]


@pytest.mark.parametrize(
    ("typed", "play"),
    [
        pytest.param("12", ("cc/bad-order",), id="too-short"),
        pytest.param("123456", ("cc/bad-order",), id="too-long"),
        pytest.param("12a4", ("cc/bad-order",), id="letter"),
        pytest.param("123#", ("cc/bad-order",), id="terminator-left-in"),
        pytest.param("*123", ("cc/bad-order",), id="star"),
        pytest.param(" 123", ("cc/bad-order",), id="space"),
        pytest.param("", (), id="nothing-typed"),
        pytest.param(None, (), id="timeout"),
    ],
)
def test_invalid_input_plays_the_invalid_prompts_and_asks_again(typed: str | None, play: tuple[str, ...]) -> None:
    ivr = input_session()
    ivr.start()
    ivr.press("1")
    assert ivr.press(typed) == Turn(play, INPUT_COLLECT, "ru")
    assert ivr.inputs == {}
    assert ivr.outcome is None


@pytest.mark.parametrize("typed", ["\u0661\u0662\u0663", "\u00b2\u00b2\u00b2"])
def test_input_of_digits_that_are_not_ascii_is_invalid(typed: str) -> None:
    ivr = input_session()
    ivr.start()
    ivr.press("1")
    assert ivr.press(typed) == Turn(("cc/bad-order",), INPUT_COLLECT, "ru")


def test_invalid_input_until_retries_run_out_ends_with_the_menus_no_input_prompts() -> None:
    ivr = input_session()
    ivr.start()
    ivr.press("1")
    assert ivr.press("12") == Turn(("cc/bad-order",), INPUT_COLLECT, "ru")
    assert ivr.press(None) == Turn((), INPUT_COLLECT, "ru")
    assert ivr.press("1234567") == Turn(("cc/bad-order", "cc/main-bye"), Finish(Outcome.NO_VALID_INPUT), "ru")
    assert ivr.outcome is Outcome.NO_VALID_INPUT
    assert ivr.inputs == {}


def test_timeout_on_the_last_input_attempt_plays_only_the_no_input_prompts() -> None:
    ivr = input_session(retries=1)
    ivr.start()
    ivr.press("1")
    assert ivr.press(None) == Turn(("cc/main-bye",), Finish(Outcome.NO_VALID_INPUT), "ru")


@pytest.mark.parametrize("retries", [1, 2, 5])
def test_input_prompt_is_offered_exactly_retries_times(retries: int) -> None:
    ivr = input_session(retries=retries)
    ivr.start()
    asked = [ivr.press("1").then]
    while not isinstance(asked[-1], Finish):
        asked.append(ivr.press("9").then)
    assert asked == [INPUT_COLLECT] * retries + [Finish(Outcome.NO_VALID_INPUT)]


def test_valid_input_after_invalid_ones_is_stored() -> None:
    ivr = input_session()
    assert walk(ivr, "1", "12", None, "4242") == QUEUED_FOR_ORDERS
    assert ivr.inputs == {"order": "4242"}
    assert ivr.path == [IvrStep("main", "1"), IvrStep("main", "12"), IvrStep("main", None), IvrStep("main", "4242")]


def test_input_then_menu_continues_there_and_back_returns_to_the_menu_of_the_input() -> None:
    ivr = input_session(then=goto("sub"))
    assert walk(ivr, "1", "777") == Turn((), SUB_COLLECT, "ru")
    assert ivr.inputs == {"order": "777"}
    assert ivr.press("#") == Turn((), Collect("main", ("cc/main",), 5.0, "02*#1"), "ru")


def test_input_then_back_returns_to_the_menu_before() -> None:
    menus = {"main": MAIN, "sub": {**SUB, "options": {**SUB["options"], "5": {**INPUT, "then": BACK}}}, "deep": DEEP}
    ivr = session(plan(menus))
    assert walk(ivr, "2", "5").then == Collect(
        "sub", ("cc/enter-order",), 8.0, "0123456789*#", max_digits=5, terminator="#", input="order"
    )
    assert ivr.press("555") == Turn((), MAIN_COLLECT, "ru")
    assert ivr.inputs == {"order": "555"}


def test_input_then_another_input_stores_both() -> None:
    pin = {**INPUT, "name": "pin", "prompts": ["cc/enter-pin"], "min_digits": 4, "max_digits": 4}
    ivr = input_session(then={**pin, "then": message("cc/thanks")})
    pin_collect = Collect("main", ("cc/enter-pin",), 8.0, "0123456789*#", max_digits=4, terminator="#", input="pin")
    assert walk(ivr, "1", "123") == Turn((), pin_collect, "ru")
    assert ivr.press("4321") == Turn(("cc/thanks",), Finish(Outcome.COMPLETED), "ru")
    assert ivr.inputs == {"order": "123", "pin": "4321"}


def test_input_asked_again_keeps_the_last_value() -> None:
    ivr = input_session(then=REPEAT)
    walk(ivr, "1", "111", "1", "222")
    assert ivr.inputs == {"order": "222"}


# --- caller lists -------------------------------------------------------------------------------------------

LISTS: dict[str, Any] = {
    "blacklist": {"numbers": ["8 999 000-00-00", "+7 900 111*", "+7 916 000-00-01"], "prompts": ["cc/blocked"]},
    "whitelist": {"numbers": ["+7 916 000-00-01"]},
    "vip": {"numbers": ["+7 916 777-77-77", "8 (495) 700*"], "priority": 30},
}
SILENT_BLACKLIST = {**LISTS, "blacklist": {"numbers": LISTS["blacklist"]["numbers"]}}


@pytest.mark.parametrize("caller", [BLOCKED, "+79001112233", "+79001110000"])
def test_blacklisted_caller_hears_the_blacklist_prompts_and_is_refused(caller: str) -> None:
    ivr = session(plan(lists=LISTS), caller)
    assert ivr.start() == Turn(("cc/blocked",), Finish(Outcome.REFUSED, reason="blacklisted"), "ru")
    assert ivr.outcome is Outcome.REFUSED
    with pytest.raises(IvrStateError):
        ivr.press(None)


@pytest.mark.parametrize("caller", [BLOCKED, "+79001112233"])
def test_blacklisted_caller_without_blacklist_prompts_is_not_answered(caller: str) -> None:
    ivr = session(plan(lists=SILENT_BLACKLIST), caller)
    assert ivr.start() == Turn((), Refuse(21, "blacklisted"), "ru")
    assert CAUSE_REJECTED == 21
    assert ivr.outcome is Outcome.REFUSED
    assert ivr.path == []


@pytest.mark.parametrize("caller", [None, STRANGER, "+79001121111", "+7999000000", VIP])
def test_caller_not_on_the_blacklist_reaches_the_menu(caller: str | None) -> None:
    assert session(plan(lists=LISTS), caller).start() == Turn((), MAIN_COLLECT, "ru")


def test_whitelist_beats_the_blacklist() -> None:
    # TRUSTED is on both lists.
    assert session(plan(lists=LISTS), TRUSTED).start() == Turn((), MAIN_COLLECT, "ru")


CLOSED_LINE: dict[str, Any] = {"hours": "office", "closed": message("cc/closed")}


def test_whitelist_beats_the_lines_closed_hours() -> None:
    dialplan = plan(line=CLOSED_LINE, hours={"office": NEVER_OPEN}, lists=LISTS)
    assert session(dialplan, STRANGER).start() == Turn(("cc/closed",), Finish(Outcome.CLOSED, reason="closed"), "ru")
    assert session(dialplan, TRUSTED).start() == Turn((), MAIN_COLLECT, "ru")


def test_whitelist_beats_a_menus_closed_hours() -> None:
    closed_sub = {**SUB, "hours": "office", "closed": message("cc/sub-closed")}
    dialplan = plan({"main": MAIN, "sub": closed_sub, "deep": DEEP}, hours={"office": NEVER_OPEN}, lists=LISTS)
    assert walk(session(dialplan, STRANGER), "2") == Turn(
        ("cc/sub-closed",), Finish(Outcome.CLOSED, reason="closed"), "ru"
    )
    assert walk(session(dialplan, TRUSTED), "2") == Turn((), SUB_COLLECT, "ru")


@pytest.mark.parametrize("caller", [None, STRANGER, VIP])
def test_whitelist_only_line_refuses_everyone_else_before_answer(caller: str | None) -> None:
    ivr = session(plan(line={"whitelist_only": True}, lists=LISTS), caller)
    assert ivr.start() == Turn((), Refuse(CAUSE_REJECTED, "not_whitelisted"), "ru")
    assert ivr.outcome is Outcome.REFUSED


def test_whitelist_only_line_lets_the_whitelist_in() -> None:
    ivr = session(plan(line={"whitelist_only": True}, lists=LISTS), TRUSTED)
    assert ivr.start() == Turn((), MAIN_COLLECT, "ru")


def test_blacklist_is_checked_before_whitelist_only() -> None:
    ivr = session(plan(line={"whitelist_only": True}, lists=LISTS), BLOCKED)
    assert ivr.start().then == Finish(Outcome.REFUSED, reason="blacklisted")


def test_refusal_is_in_the_lines_language() -> None:
    ivr = session(plan(line={"language": "en"}, lists=LISTS), BLOCKED)
    assert ivr.start().language == "en"


# --- hours of the line --------------------------------------------------------------------------------------

CLOSED_ENDINGS = [
    pytest.param(
        message("cc/closed"), Turn(("cc/closed",), Finish(Outcome.CLOSED, reason="closed"), "ru"), id="message"
    ),
    pytest.param(
        {"action": "hangup", "prompts": ["cc/closed"]},
        Turn(("cc/closed",), Finish(Outcome.CLOSED, reason="closed"), "ru"),
        id="hangup",
    ),
    pytest.param(
        VOICEMAIL,
        Turn(
            ("cc/voicemail-intro",),
            Finish(Outcome.VOICEMAIL, ToVoicemail(mailbox="support", prompts=("cc/voicemail-intro",)), "closed"),
            "ru",
        ),
        id="voicemail",
    ),
    pytest.param(
        QUEUE,
        Turn(
            ("cc/connecting",),
            Finish(Outcome.QUEUED, ToQueue(queue="support", prompts=("cc/connecting",)), "closed"),
            "ru",
        ),
        id="queue",
    ),
    pytest.param(
        NUMBER,
        Turn(
            ("cc/transferring",),
            Finish(Outcome.TRANSFERRED, ToNumber(number="+74951234567", prompts=("cc/transferring",)), "closed"),
            "ru",
        ),
        id="number",
    ),
]


@pytest.mark.parametrize(("closed", "turn"), CLOSED_ENDINGS)
def test_closed_line_does_its_closed_action_at_start(closed: dict[str, Any], turn: Turn) -> None:
    ivr = session(plan(line={"hours": "office", "closed": closed}, hours={"office": NEVER_OPEN}))
    assert ivr.start() == turn
    assert isinstance(turn.then, Finish)
    assert ivr.outcome is turn.then.outcome
    with pytest.raises(IvrStateError):
        ivr.press(None)


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        pytest.param(TUESDAY_NOON, True, id="tuesday-noon"),
        pytest.param(datetime(2027, 1, 12, 9, 0, tzinfo=MOSCOW), True, id="opening-minute"),
        pytest.param(datetime(2027, 1, 12, 8, 59, tzinfo=MOSCOW), False, id="before-opening"),
        pytest.param(datetime(2027, 1, 12, 18, 0, tzinfo=MOSCOW), False, id="closing-minute"),
        pytest.param(datetime(2027, 1, 16, 12, 0, tzinfo=MOSCOW), False, id="saturday"),
        pytest.param(datetime(2027, 1, 5, 12, 0, tzinfo=MOSCOW), False, id="holiday-tuesday"),
        pytest.param(datetime(2027, 1, 12, 6, 0, tzinfo=ZoneInfo("UTC")), True, id="same-instant-in-utc"),
    ],
)
def test_line_hours_decide_between_the_menu_and_the_closed_action(at: datetime, is_open: bool) -> None:
    dialplan = plan(line=CLOSED_LINE, hours={"office": OFFICE_HOURS})
    closed = Turn(("cc/closed",), Finish(Outcome.CLOSED, reason="closed"), "ru")
    assert session(dialplan, at=at).start() == (Turn((), MAIN_COLLECT, "ru") if is_open else closed)


def test_line_that_is_open_reaches_the_menu() -> None:
    ivr = session(plan(line=CLOSED_LINE, hours={"office": ALWAYS_OPEN}))
    assert ivr.start() == Turn((), MAIN_COLLECT, "ru")


def test_closed_line_that_goes_to_a_menu_collects_there() -> None:
    after = {"greeting": ["cc/after-hours"], "options": {"1": message("cc/bye"), "2": VOICEMAIL}}
    dialplan = plan(
        {"main": MAIN, "sub": SUB, "deep": DEEP, "after": after},
        line={"hours": "office", "closed": goto("after")},
        hours={"office": NEVER_OPEN},
    )
    ivr = session(dialplan)
    assert ivr.start() == Turn((), Collect("after", ("cc/after-hours",), 5.0, "12"), "ru")
    # What the caller then picks is reported as done out of hours.
    end = ivr.press("2").then
    assert end == Finish(Outcome.VOICEMAIL, ToVoicemail(mailbox="support", prompts=("cc/voicemail-intro",)), "closed")


def test_message_in_the_menu_a_closed_line_goes_to_completes_with_reason_closed() -> None:
    # Unlike the closed action itself (CLOSED), a message chosen in the after-hours menu served the caller.
    after = {"greeting": ["cc/after-hours"], "options": {"1": message("cc/bye")}}
    dialplan = plan(
        {"main": MAIN, "sub": SUB, "deep": DEEP, "after": after},
        line={"hours": "office", "closed": goto("after")},
        hours={"office": NEVER_OPEN},
    )
    assert walk(session(dialplan), "1") == Turn(("cc/bye",), Finish(Outcome.COMPLETED, reason="closed"), "ru")


def test_back_in_the_menu_a_closed_line_goes_to_stays_there() -> None:
    after = {"greeting": ["cc/after-hours"], "options": {"1": message("cc/bye"), "#": BACK}}
    dialplan = plan(
        {"main": MAIN, "sub": SUB, "deep": DEEP, "after": after},
        line={"hours": "office", "closed": goto("after")},
        hours={"office": NEVER_OPEN},
    )
    # At the top, back stays in the same menu.
    assert walk(session(dialplan), "#") == Turn((), Collect("after", ("cc/after-hours",), 5.0, "1#"), "ru")


# --- hours of a menu ----------------------------------------------------------------------------------------


def closed_sub(closed: dict[str, Any], hours: dict[str, Any] = NEVER_OPEN) -> Dialplan:
    sub = {**SUB, "hours": "sub-hours", "closed": closed}
    return plan({"main": {**MAIN, "announce_key": True}, "sub": sub, "deep": DEEP}, hours={"sub-hours": hours})


def test_menu_closed_when_entered_does_its_closed_action_after_the_key_is_said() -> None:
    ivr = session(closed_sub(message("cc/sub-closed")))
    ivr.start()
    assert ivr.press("2") == Turn(
        ("you-entered", "digits/2", "cc/sub-closed"), Finish(Outcome.CLOSED, reason="closed"), "ru"
    )
    assert ivr.path == [IvrStep("main", "2")]


def test_menu_closed_with_voicemail_leaves_the_caller_in_its_mailbox() -> None:
    ivr = session(closed_sub(VOICEMAIL))
    ivr.start()
    assert ivr.press("2").then == Finish(
        Outcome.VOICEMAIL, ToVoicemail(mailbox="support", prompts=("cc/voicemail-intro",)), "closed"
    )


def test_menu_closed_with_a_menu_goes_there() -> None:
    ivr = session(closed_sub(goto("deep")))
    ivr.start()
    assert ivr.press("2") == Turn(("you-entered", "digits/2"), DEEP_COLLECT, "ru")


def test_menu_in_its_hours_is_entered() -> None:
    ivr = session(closed_sub(message("cc/sub-closed"), ALWAYS_OPEN))
    ivr.start()
    assert ivr.press("2") == Turn(("you-entered", "digits/2"), SUB_COLLECT, "ru")


def test_lines_first_menu_closed_at_start_does_its_closed_action() -> None:
    main = {**MAIN, "hours": "main-hours", "closed": message("cc/main-closed")}
    ivr = session(plan({"main": main, "sub": SUB, "deep": DEEP}, hours={"main-hours": NEVER_OPEN}))
    assert ivr.start() == Turn(("cc/main-closed",), Finish(Outcome.CLOSED, reason="closed"), "ru")


def test_menu_closed_into_itself_does_not_crash_the_call() -> None:
    main = {**MAIN, "hours": "main-hours", "closed": goto("main")}
    ivr = session(plan({"main": main, "sub": SUB, "deep": DEEP}, hours={"main-hours": NEVER_OPEN}))
    assert isinstance(ivr.start(), Turn)


# --- language -----------------------------------------------------------------------------------------------

ENGLISH: dict[str, Any] = {
    "language": "en",
    "greeting": ["cc/english"],
    "options": {"1": message("cc/thanks"), "2": goto("sub"), "*": BACK},
}
ENGLISH_COLLECT = Collect("english", ("cc/english",), 5.0, "12*")
BILINGUAL_MAIN_COLLECT = Collect("main", ("cc/main",), 5.0, "02*#9")


def bilingual() -> IvrSession:
    main = {**MAIN, "options": {**MAIN["options"], "9": goto("english")}}
    return session(plan({"main": main, "sub": SUB, "deep": DEEP, "english": ENGLISH}))


def test_turns_are_in_the_lines_language_at_first() -> None:
    ivr = session(plan(line={"language": "en"}))
    assert ivr.start() == Turn((), MAIN_COLLECT, "en")
    assert ivr.language == "en"


def test_menu_with_a_language_switches_the_turns_to_it() -> None:
    ivr = bilingual()
    assert ivr.start().language == "ru"
    assert ivr.press("9") == Turn((), ENGLISH_COLLECT, "en")
    assert ivr.language == "en"
    assert ivr.press("1") == Turn(("cc/thanks",), Finish(Outcome.COMPLETED), "en")


def test_menus_after_the_switch_keep_the_language() -> None:
    ivr = bilingual()
    assert walk(ivr, "9", "2") == Turn((), SUB_COLLECT, "en")
    assert ivr.press("3") == Turn((), DEEP_COLLECT, "en")


def test_invalid_key_and_no_input_after_the_switch_are_in_the_new_language() -> None:
    ivr = bilingual()
    assert walk(ivr, "9", "7") == Turn(("invalid",), ENGLISH_COLLECT, "en")
    assert ivr.press(None).language == "en"


def test_back_returns_to_the_language_heard_in_the_menu_returned_to() -> None:
    # What a caller expects: "back to the Russian menu" (the sample's support-english '*') is heard in
    # Russian again, the language main was heard in.
    ivr = bilingual()
    assert walk(ivr, "9", "*") == Turn((), BILINGUAL_MAIN_COLLECT, "ru")
    assert ivr.language == "ru"
    assert ivr.press("0") == Turn(("cc/bye",), Finish(Outcome.COMPLETED), "ru")


def test_back_within_the_switched_branch_stays_in_its_language() -> None:
    # sub has no language: reached from english, it was heard in English, and is again after deep.
    ivr = bilingual()
    assert walk(ivr, "9", "2", "3") == Turn((), DEEP_COLLECT, "en")
    assert ivr.press("#") == Turn((), SUB_COLLECT, "en")
    assert ivr.press("#") == Turn((), ENGLISH_COLLECT, "en")
    assert ivr.press("*") == Turn((), BILINGUAL_MAIN_COLLECT, "ru")


def test_back_at_the_top_of_a_switched_branch_keeps_its_language() -> None:
    # A line whose first menu sets a language: back at the top stays there, in that language.
    dialplan = plan({"main": {**MAIN, "language": "en"}, "sub": SUB, "deep": DEEP})
    assert walk(session(dialplan), "#") == Turn((), MAIN_COLLECT, "en")


def test_menu_with_the_lines_language_switches_back() -> None:
    english_main = {**MAIN, "options": {**MAIN["options"], "9": goto("english")}}
    to_russian = {**ENGLISH, "options": {**ENGLISH["options"], "2": goto("russian")}}
    russian = {"language": "ru", "greeting": ["cc/russian"], "options": {"1": message("cc/thanks")}}
    ivr = session(plan({"main": english_main, "sub": SUB, "deep": DEEP, "english": to_russian, "russian": russian}))
    assert walk(ivr, "9", "2") == Turn((), Collect("russian", ("cc/russian",), 5.0, "1"), "ru")


def test_closed_action_of_a_menu_with_a_language_is_in_that_language() -> None:
    closed_english = {**ENGLISH, "hours": "en-hours", "closed": message("cc/closed")}
    main = {**MAIN, "options": {**MAIN["options"], "9": goto("english")}}
    dialplan = plan({"main": main, "sub": SUB, "deep": DEEP, "english": closed_english}, hours={"en-hours": NEVER_OPEN})
    assert walk(session(dialplan), "9") == Turn(("cc/closed",), Finish(Outcome.CLOSED, reason="closed"), "en")


# --- VIP ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "priority"),
    [(VIP, 30), ("+74957001234", 30), ("+74957000000", 30), ("+74957101234", 0), (STRANGER, 0), (None, 0)],
)
def test_vip_callers_get_the_vip_lists_priority(caller: str | None, priority: int) -> None:
    ivr = session(plan(lists=LISTS), caller)
    assert ivr.priority == priority


def test_vip_priority_defaults_to_ten() -> None:
    assert session(plan(lists={"vip": {"numbers": [VIP]}}), VIP).priority == 10


def test_vip_caller_walks_the_same_menus() -> None:
    ivr = session(main_with(QUEUE, announce_key=False), VIP)
    assert walk(ivr, "1").then == Finish(Outcome.QUEUED, ToQueue(queue="support", prompts=("cc/connecting",)))
