"""callcenter.ivr.interpreter: the pure, key-by-key walk through dialplan menus."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from callcenter.dialplan.model import Dialplan
from callcenter.ivr.interpreter import CallContext, Collect, Finish, IvrSession, IvrStateError, Turn, key_prompts
from callcenter.records import IvrStep, Outcome

LINE = "+78005553535"
# These dialplans have no hours and no lists: neither the caller nor the time changes anything.
CALL = CallContext(caller=None, at=datetime(2027, 1, 12, 12, 0, tzinfo=UTC))


def build(menus: dict[str, Any], start: str = "main") -> Dialplan:
    return Dialplan.checked({"numbers": {LINE: {"name": "Line", "menu": start}}, "menus": menus})


def message(*prompts: str) -> dict[str, Any]:
    return {"action": "message", "prompts": list(prompts)}


def goto(menu: str) -> dict[str, Any]:
    return {"action": "menu", "menu": menu}


MAIN: dict[str, Any] = {
    "greeting": ["cc/greeting"],
    "timeout": 7.5,
    "retries": 3,
    "invalid": ["invalid"],
    "no_input": ["vm-goodbye"],
    "options": {
        "1": message("cc/thanks", "vm-goodbye"),
        "2": goto("sub"),
        "*": message("cc/star"),
        "#": message("cc/pound"),
    },
}
SUB: dict[str, Any] = {
    "greeting": ["cc/sub-greeting", "cc/sub-more"],
    "timeout": 3,
    "retries": 2,
    "invalid": ["cc/sub-invalid"],
    "no_input": ["cc/sub-bye"],
    "options": {"0": goto("main"), "5": message("cc/five")},
}


def session(menus: dict[str, Any] | None = None, start: str = "main") -> IvrSession:
    dialplan = build(menus if menus is not None else {"main": MAIN, "sub": SUB}, start)
    line = dialplan.line_for(LINE)
    assert line is not None
    return IvrSession(dialplan, line, CALL)


def announcing(**changes: Any) -> dict[str, Any]:
    return {"main": {**MAIN, "announce_key": True, **changes}, "sub": SUB}


MAIN_COLLECT = Collect(menu="main", prompts=("cc/greeting",), timeout=7.5, keys="12*#")
SUB_COLLECT = Collect(menu="sub", prompts=("cc/sub-greeting", "cc/sub-more"), timeout=3.0, keys="05")


# --- start ----------------------------------------------------------------------------------------


def test_start_plays_nothing_and_collects_in_the_line_menu() -> None:
    assert session().start() == Turn((), MAIN_COLLECT, "ru")


def test_start_in_a_line_that_begins_in_another_menu() -> None:
    assert session(start="sub").start() == Turn((), SUB_COLLECT, "ru")


def test_collect_keys_list_the_menu_options_in_dialplan_order() -> None:
    ivr = session({"main": {**MAIN, "options": {"9": message("a"), "0": message("b"), "#": message("c")}}})
    then = ivr.start().then
    assert isinstance(then, Collect)
    assert then.keys == "90#"


def test_default_timeout_is_used_when_the_menu_sets_none() -> None:
    ivr = session({"main": {"greeting": ["hello"], "options": {"1": message("bye")}}})
    then = ivr.start().then
    assert isinstance(then, Collect)
    assert then.timeout == 5.0


def test_no_outcome_and_empty_path_before_any_key() -> None:
    ivr = session()
    ivr.start()
    assert ivr.outcome is None
    assert ivr.path == []


def test_starting_twice_raises() -> None:
    ivr = session()
    ivr.start()
    with pytest.raises(IvrStateError):
        ivr.start()


def test_starting_after_a_key_raises() -> None:
    ivr = session()
    ivr.start()
    ivr.press("2")
    with pytest.raises(IvrStateError):
        ivr.start()


def test_starting_after_the_end_raises() -> None:
    ivr = session()
    ivr.start()
    ivr.press("1")
    with pytest.raises(IvrStateError):
        ivr.start()


# --- message options ------------------------------------------------------------------------------


def test_message_option_plays_its_prompts_and_completes() -> None:
    ivr = session()
    ivr.start()
    assert ivr.press("1") == Turn(("cc/thanks", "vm-goodbye"), Finish(Outcome.COMPLETED), "ru")
    assert ivr.outcome is Outcome.COMPLETED


def test_message_option_without_announce_key_does_not_say_the_key() -> None:
    ivr = session()
    ivr.start()
    turn = ivr.press("1")
    assert "you-entered" not in turn.play
    assert "digits/1" not in turn.play


def test_announce_key_says_you_entered_and_the_digit_before_the_prompts() -> None:
    ivr = session(announcing())
    ivr.start()
    assert ivr.press("1") == Turn(
        ("you-entered", "digits/1", "cc/thanks", "vm-goodbye"), Finish(Outcome.COMPLETED), "ru"
    )


def test_announce_key_says_star_for_star() -> None:
    ivr = session(announcing())
    ivr.start()
    assert ivr.press("*").play == ("you-entered", "digits/star", "cc/star")


def test_announce_key_says_pound_for_hash() -> None:
    ivr = session(announcing())
    ivr.start()
    assert ivr.press("#").play == ("you-entered", "digits/pound", "cc/pound")


def test_star_and_hash_options_work_without_announce_key() -> None:
    ivr = session()
    ivr.start()
    assert ivr.press("#") == Turn(("cc/pound",), Finish(Outcome.COMPLETED), "ru")


@pytest.mark.parametrize(
    ("key", "sound"),
    [("0", "digits/0"), ("5", "digits/5"), ("9", "digits/9"), ("*", "digits/star"), ("#", "digits/pound")],
)
def test_key_prompts_names_the_core_digit_sound(key: str, sound: str) -> None:
    assert key_prompts(key) == (sound,)


def test_announce_key_is_not_said_for_an_invalid_key() -> None:
    ivr = session(announcing())
    ivr.start()
    assert ivr.press("7") == Turn(("invalid",), MAIN_COLLECT, "ru")


def test_announce_key_is_said_before_moving_to_a_submenu() -> None:
    ivr = session(announcing())
    ivr.start()
    assert ivr.press("2") == Turn(("you-entered", "digits/2"), SUB_COLLECT, "ru")


# --- invalid keys and timeouts --------------------------------------------------------------------


def test_invalid_key_plays_the_invalid_prompts_and_collects_again() -> None:
    ivr = session()
    ivr.start()
    assert ivr.press("9") == Turn(("invalid",), MAIN_COLLECT, "ru")
    assert ivr.outcome is None


def test_invalid_key_uses_the_current_menu_invalid_prompts() -> None:
    ivr = session()
    ivr.start()
    ivr.press("2")
    assert ivr.press("9") == Turn(("cc/sub-invalid",), SUB_COLLECT, "ru")


def test_timeout_plays_nothing_and_collects_again() -> None:
    ivr = session()
    ivr.start()
    assert ivr.press(None) == Turn((), MAIN_COLLECT, "ru")


def test_timeouts_until_retries_run_out_finish_with_no_valid_input() -> None:
    ivr = session()
    ivr.start()
    assert ivr.press(None) == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press(None) == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press(None) == Turn(("vm-goodbye",), Finish(Outcome.NO_VALID_INPUT), "ru")
    assert ivr.outcome is Outcome.NO_VALID_INPUT


def test_invalid_keys_until_retries_run_out_play_invalid_then_no_input() -> None:
    ivr = session()
    ivr.start()
    ivr.press("7")
    ivr.press("8")
    assert ivr.press("9") == Turn(("invalid", "vm-goodbye"), Finish(Outcome.NO_VALID_INPUT), "ru")
    assert ivr.outcome is Outcome.NO_VALID_INPUT


def test_mixed_timeouts_and_invalid_keys_share_one_attempt_count() -> None:
    ivr = session()
    ivr.start()
    ivr.press(None)
    ivr.press("9")
    assert ivr.press(None).then == Finish(Outcome.NO_VALID_INPUT)


def test_greeting_is_offered_exactly_retries_times() -> None:
    for retries in (1, 2, 5):
        ivr = session({"main": {**MAIN, "retries": retries}, "sub": SUB})
        collects = [ivr.start().then]
        while True:
            then = ivr.press(None).then
            if isinstance(then, Finish):
                break
            collects.append(then)
        assert len(collects) == retries
        assert all(collect == MAIN_COLLECT for collect in collects)


def test_single_retry_menu_gives_up_after_one_timeout() -> None:
    ivr = session({"main": {**MAIN, "retries": 1}, "sub": SUB})
    ivr.start()
    assert ivr.press(None) == Turn(("vm-goodbye",), Finish(Outcome.NO_VALID_INPUT), "ru")


@pytest.mark.parametrize("key", ["", "12", "a", "3"])
def test_text_that_is_not_an_option_counts_as_an_invalid_key(key: str) -> None:
    ivr = session()
    ivr.start()
    assert ivr.press(key) == Turn(("invalid",), MAIN_COLLECT, "ru")


def test_a_valid_key_after_some_invalid_ones_still_completes() -> None:
    ivr = session()
    ivr.start()
    ivr.press("9")
    ivr.press(None)
    assert ivr.press("1").then == Finish(Outcome.COMPLETED)


# --- submenus -------------------------------------------------------------------------------------


def test_menu_option_moves_to_the_submenu_and_plays_nothing_extra() -> None:
    ivr = session()
    ivr.start()
    assert ivr.press("2") == Turn((), SUB_COLLECT, "ru")
    assert ivr.outcome is None


def test_message_in_the_submenu_completes() -> None:
    ivr = session()
    ivr.start()
    ivr.press("2")
    assert ivr.press("5") == Turn(("cc/five",), Finish(Outcome.COMPLETED), "ru")


def test_entering_a_submenu_resets_the_attempt_count() -> None:
    ivr = session()
    ivr.start()
    ivr.press(None)
    ivr.press(None)  # main's third and last attempt is now being collected
    assert ivr.press("2").then == SUB_COLLECT
    # sub allows two attempts of its own, whatever was used up in main
    assert ivr.press(None) == Turn((), SUB_COLLECT, "ru")
    assert ivr.press(None) == Turn(("cc/sub-bye",), Finish(Outcome.NO_VALID_INPUT), "ru")


def test_going_back_to_a_menu_gives_it_fresh_attempts() -> None:
    ivr = session()
    ivr.start()
    ivr.press(None)
    ivr.press(None)
    ivr.press("2")
    ivr.press("0")  # back to main
    assert ivr.press(None) == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press(None) == Turn((), MAIN_COLLECT, "ru")
    assert ivr.press(None).then == Finish(Outcome.NO_VALID_INPUT)


def test_menu_option_that_loops_to_its_own_menu_collects_again_with_fresh_attempts() -> None:
    ivr = session({"main": {**MAIN, "retries": 1, "options": {"0": goto("main"), "1": message("bye")}}})
    ivr.start()
    for _ in range(10):
        then = ivr.press("0").then
        assert isinstance(then, Collect)
        assert then.menu == "main"
    assert ivr.press(None).then == Finish(Outcome.NO_VALID_INPUT)


def test_no_input_prompts_are_those_of_the_menu_where_retries_ran_out() -> None:
    ivr = session()
    ivr.start()
    ivr.press("2")
    ivr.press("9")
    assert ivr.press("9").play == ("cc/sub-invalid", "cc/sub-bye")


# --- path -----------------------------------------------------------------------------------------


def test_path_records_every_step_with_its_menu_and_none_for_timeouts() -> None:
    ivr = session()
    ivr.start()
    ivr.press(None)
    ivr.press("9")
    ivr.press("2")
    ivr.press(None)
    ivr.press("5")
    assert ivr.path == [
        IvrStep("main", None),
        IvrStep("main", "9"),
        IvrStep("main", "2"),
        IvrStep("sub", None),
        IvrStep("sub", "5"),
    ]


def test_path_includes_the_final_failed_step() -> None:
    ivr = session({"main": {**MAIN, "retries": 1}, "sub": SUB})
    ivr.start()
    ivr.press("7")
    assert ivr.path == [IvrStep("main", "7")]


# --- misuse ---------------------------------------------------------------------------------------


def test_pressing_before_start_raises() -> None:
    with pytest.raises(IvrStateError):
        session().press("1")


def test_pressing_after_completion_raises_and_changes_nothing() -> None:
    ivr = session()
    ivr.start()
    ivr.press("1")
    with pytest.raises(IvrStateError):
        ivr.press("1")
    with pytest.raises(IvrStateError):
        ivr.press(None)
    assert ivr.outcome is Outcome.COMPLETED
    assert ivr.path == [IvrStep("main", "1")]


def test_pressing_after_giving_up_raises() -> None:
    ivr = session({"main": {**MAIN, "retries": 1}, "sub": SUB})
    ivr.start()
    ivr.press(None)
    with pytest.raises(IvrStateError):
        ivr.press("1")


def test_sessions_on_one_dialplan_are_independent() -> None:
    dialplan = build({"main": MAIN, "sub": SUB})
    line = dialplan.line_for(LINE)
    assert line is not None
    first, second = IvrSession(dialplan, line, CALL), IvrSession(dialplan, line, CALL)
    first.start()
    second.start()
    first.press("2")
    assert second.press("1").then == Finish(Outcome.COMPLETED)
    assert first.outcome is None
    assert first.path == [IvrStep("main", "2")]
    assert second.path == [IvrStep("main", "1")]


# --- generated sequences --------------------------------------------------------------------------

# Keys a caller may produce: every DTMF key, a timeout, and junk a broken channel might report.
_INPUTS: list[str | None] = [*"0123456789*#", None, None, "", "12"]
# Prompt names are sound file names: '*' and '#' are not allowed in them.
_KEY_NAMES = {"*": "star", "#": "pound"}


def _random_menus(rng: random.Random) -> dict[str, Any]:
    names = [f"m{index}" for index in range(rng.randint(1, 4))]
    menus: dict[str, Any] = {}
    for name in names:
        keys = rng.sample("0123456789*#", rng.randint(1, 5))
        options = {
            key: goto(rng.choice(names)) if rng.random() < 0.5 else message(f"end-{name}-{_KEY_NAMES.get(key, key)}")
            for key in keys
        }
        if all(option["action"] == "menu" for option in options.values()):
            # The model refuses menus that only lead to each other (callers could never get out).
            options[keys[0]] = message(f"end-{name}-{_KEY_NAMES.get(keys[0], keys[0])}")
        menus[name] = {
            "greeting": [f"greet-{name}"],
            "retries": rng.randint(1, 4),
            "announce_key": rng.random() < 0.5,
            "options": options,
        }
    return menus


def test_random_key_sequences_end_cleanly_or_keep_collecting() -> None:
    rng = random.Random(20240601)
    for _ in range(300):
        menus = _random_menus(rng)
        dialplan = build(menus, start="m0")
        line = dialplan.line_for(LINE)
        assert line is not None
        ivr = IvrSession(dialplan, line, CALL)
        sequence = [rng.choice(_INPUTS) for _ in range(rng.randint(1, 25))]
        max_retries = max(menu["retries"] for menu in menus.values())

        turn = ivr.start()
        presses = 0
        failures_in_a_row = 0  # non-option inputs since the last menu change
        for key in sequence:
            assert isinstance(turn.then, Collect)
            assert ivr.outcome is None
            collect = turn.then
            assert collect.menu in menus
            assert collect.keys == "".join(menus[collect.menu]["options"])
            turn = ivr.press(key)
            presses += 1
            assert len(ivr.path) == presses
            assert ivr.path[-1] == IvrStep(collect.menu, key)
            valid = key is not None and key in menus[collect.menu]["options"]
            failures_in_a_row = 0 if valid else failures_in_a_row + 1
            # a menu never takes more non-option inputs than its retries
            assert failures_in_a_row <= menus[collect.menu]["retries"]
            if isinstance(turn.then, Finish):
                assert ivr.outcome is turn.then.outcome
                if valid:
                    assert turn.then.outcome is Outcome.COMPLETED
                else:
                    assert turn.then.outcome is Outcome.NO_VALID_INPUT
                    assert failures_in_a_row == menus[collect.menu]["retries"]
                break
            assert ivr.outcome is None
        # Either it ended within the bound, or it is still collecting and ready for more.
        assert presses <= max_retries * len(sequence)
        if isinstance(turn.then, Finish):
            assert ivr.outcome is turn.then.outcome
            with pytest.raises(IvrStateError):
                ivr.press(None)
        else:
            assert isinstance(turn.then, Collect)
            assert ivr.outcome is None


def test_only_timeouts_always_end_within_the_retries_of_the_first_menu() -> None:
    rng = random.Random(7)
    for _ in range(100):
        menus = _random_menus(rng)
        dialplan = build(menus, start="m0")
        line = dialplan.line_for(LINE)
        assert line is not None
        ivr = IvrSession(dialplan, line, CALL)
        ivr.start()
        retries = menus["m0"]["retries"]
        turns = [ivr.press(None) for _ in range(retries)]
        assert all(isinstance(turn.then, Collect) for turn in turns[:-1])
        assert turns[-1] == Turn(("vm-goodbye",), Finish(Outcome.NO_VALID_INPUT), "ru")
