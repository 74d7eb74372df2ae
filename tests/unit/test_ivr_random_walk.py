"""callcenter.ivr.interpreter: random callers on random dialplans using every action, list and hours feature.

Fixed seeds and bounded walks, so a failure is reproducible: the seed and walk number are in the message.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from callcenter.dialplan.model import Dialplan, ToNumber, ToQueue, ToVoicemail
from callcenter.ivr.interpreter import CAUSE_REJECTED, CallContext, Collect, Finish, IvrSession, IvrStateError, Refuse
from callcenter.records import IvrStep, Outcome

LINE = "+78005553535"
AT = datetime(2027, 1, 12, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
KEYS = "0123456789*#"
MAX_RETRIES = 4  # of any menu or input generated here
# Unknown and ordinary callers most of the time; blacklisted (exact, by prefix), whitelisted and VIP ones too.
CALLERS = [None, None, "+79161234567", "+79161234567", "+79161234567", "+79990000000", "+79001112233"]
CALLERS += ["+79160000001", "+79167777777"]
SCHEDULES = {"open": {"weekly": {"daily": "00:00-24:00"}}, "shut": {"weekly": {}}}
_TARGETS: dict[Outcome, type | None] = {
    Outcome.QUEUED: ToQueue,
    Outcome.TRANSFERRED: ToNumber,
    Outcome.VOICEMAIL: ToVoicemail,
    Outcome.COMPLETED: None,
    Outcome.CLOSED: None,
    Outcome.NO_VALID_INPUT: None,
    Outcome.REFUSED: None,
}


def _ending(rng: random.Random, tag: str) -> dict[str, Any]:
    """An action that ends the IVR."""
    kind = rng.choice(["message", "hangup", "queue", "number", "voicemail"])
    prompts = [f"p-{tag}"] if kind == "message" or rng.random() < 0.5 else []
    if kind == "message":
        return {"action": "message", "prompts": prompts}
    if kind == "hangup":
        return {"action": "hangup", "prompts": prompts}
    if kind == "queue":
        return {"action": "queue", "queue": rng.choice(["q1", "q2"]), "prompts": prompts}
    if kind == "number":
        return {"action": "number", "number": rng.choice(["+74951234567", "8 916 123-45-67"]), "prompts": prompts}
    return {"action": "voicemail", "mailbox": rng.choice(["box1", "box2"]), "prompts": prompts}


def _action(rng: random.Random, names: list[str], tag: str, depth: int = 0) -> dict[str, Any]:
    kind = rng.choice(["end", "menu", "menu", "repeat", "back", "input", "input"])
    if kind == "end":
        return _ending(rng, tag)
    if kind == "menu":
        return {"action": "menu", "menu": rng.choice(names)}
    if kind in ("repeat", "back"):
        return {"action": kind}
    if depth > 0:
        return _ending(rng, tag)
    low = rng.randint(1, 4)
    return {
        "action": "input",
        "name": f"in-{tag}",
        "prompts": [f"ask-{tag}"],
        "min_digits": low,
        "max_digits": low + rng.randint(0, 3),
        "terminator": rng.choice(["#", None]),
        "retries": rng.randint(1, 3),
        "then": _action(rng, names, f"{tag}-then", depth + 1),
    }


def random_dialplan(rng: random.Random) -> dict[str, Any]:
    names = [f"m{index}" for index in range(rng.randint(1, 5))]
    with_hours = {name for name in names if rng.random() < 0.3}
    plain = [name for name in names if name not in with_hours] or None

    def closed(tag: str) -> dict[str, Any]:
        # A closed action going to a menu goes to one without hours: a menu closed into a closed menu
        # recurses (see test_menu_closed_into_itself_does_not_crash_the_call in test_ivr_actions.py).
        if plain and rng.random() < 0.3:
            return {"action": "menu", "menu": rng.choice(plain)}
        return _ending(rng, tag)

    menus: dict[str, Any] = {}
    for name in names:
        keys = rng.sample(KEYS, rng.randint(1, 6))
        options = {key: _action(rng, names, f"{name}-{KEYS.index(key)}") for key in keys}
        if not any(option["action"] not in ("menu", "repeat", "back", "input") for option in options.values()):
            options[keys[0]] = _ending(rng, f"{name}-out")  # the model refuses menus with no way out
        menu: dict[str, Any] = {
            "greeting": [f"greet-{name}"],
            "retries": rng.randint(1, MAX_RETRIES),
            "announce_key": rng.random() < 0.3,
            "options": options,
        }
        if rng.random() < 0.3:
            menu["language"] = rng.choice(["ru", "en"])
        if name in with_hours:
            menu["hours"] = rng.choice(list(SCHEDULES))
            menu["closed"] = closed(f"{name}-closed")
        menus[name] = menu
    line: dict[str, Any] = {"name": "Line", "menu": "m0", "language": rng.choice(["ru", "en"])}
    if rng.random() < 0.3:
        line["hours"] = rng.choice(list(SCHEDULES))
        line["closed"] = closed("line-closed")
    line["whitelist_only"] = rng.random() < 0.1
    blacklist: dict[str, Any] = {"numbers": ["+79990000000", "+7900111*", "+79160000001"]}
    if rng.random() < 0.5:
        blacklist["prompts"] = ["blocked"]
    return {
        "numbers": {LINE: line},
        "menus": menus,
        "hours": SCHEDULES,
        "queues": {"q1": {"name": "Q1"}, "q2": {"name": "Q2", "overflow": {"action": "queue", "queue": "q1"}}},
        "lists": {
            "blacklist": blacklist,
            "whitelist": {"numbers": ["+79160000001"]},
            "vip": {"numbers": ["+79167777777"], "priority": rng.randint(1, 100)},
        },
    }


def _typed(rng: random.Random, step: Collect) -> str | None:
    """What a caller (or a broken channel) might give."""
    choice = rng.random()
    if choice < 0.15:
        return None
    if choice < 0.2:
        return rng.choice(["", "a", "1 2", "**"])
    if step.input is None:
        return rng.choice(step.keys) if rng.random() < 0.7 else rng.choice(KEYS)
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(0, step.max_digits + 2)))


def _check_finished(ivr: IvrSession, then: Finish | Refuse, play: tuple[str, ...], started: bool) -> None:
    if isinstance(then, Refuse):
        assert not started, "a refusal only ever comes first, before anything was pressed"
        assert play == ()
        assert then.cause == CAUSE_REJECTED
        assert then.reason in ("blacklisted", "not_whitelisted")
        assert ivr.outcome is Outcome.REFUSED
    else:
        assert ivr.outcome is then.outcome
        expected = _TARGETS[then.outcome]
        assert (then.target is None) if expected is None else isinstance(then.target, expected)
        assert then.reason in ("", "closed", "blacklisted")
        assert (then.reason == "blacklisted") == (then.outcome is Outcome.REFUSED)
    for key in (None, "1", "123"):
        with pytest.raises(IvrStateError):
            ivr.press(key)
    with pytest.raises(IvrStateError):
        ivr.start()
    assert ivr.outcome is not None


def _check_collect(dialplan: Dialplan, step: Collect) -> None:
    menu = dialplan.menus[step.menu]
    if step.input is None:
        assert step.keys == "".join(menu.options)
        assert step.prompts == menu.greeting
        assert (step.max_digits, step.terminator) == (1, None)
    else:
        assert step.keys == KEYS
        assert step.prompts == (f"ask-{step.input.removeprefix('in-')}",)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_callers_on_random_dialplans_never_break_the_interpreter(seed: int) -> None:
    rng = random.Random(seed)
    for walk in range(200):
        dialplan = Dialplan.checked(random_dialplan(rng))
        line = dialplan.line_for(LINE)
        assert line is not None
        ivr = IvrSession(dialplan, line, CallContext(rng.choice(CALLERS), AT))
        turn = ivr.start()
        presses = 0
        context = f"seed {seed}, walk {walk}"
        for _ in range(rng.randint(1, 30)):
            assert turn.language in ("ru", "en"), context
            if not isinstance(turn.then, Collect):
                break
            assert ivr.outcome is None, context
            step = turn.then
            _check_collect(dialplan, step)
            key = _typed(rng, step)
            turn = ivr.press(key)
            presses += 1
            assert len(ivr.path) == presses, context
            assert ivr.path[-1] == IvrStep(step.menu, key), context
        # Whatever state the walk is in, timeouts alone end it within the current step's retries
        # (at most 4 here): a timeout never leaves the menu or input it happens in.
        for _ in range(MAX_RETRIES):
            if not isinstance(turn.then, Collect):
                break
            turn = ivr.press(None)
            presses += 1
        assert not isinstance(turn.then, Collect), f"{context}: {MAX_RETRIES} timeouts did not end the call"
        _check_finished(ivr, turn.then, turn.play, started=presses > 0)
        assert all(value.isdigit() for value in ivr.inputs.values()), context
        assert ivr.priority in (0, dialplan.lists.vip.priority), context
