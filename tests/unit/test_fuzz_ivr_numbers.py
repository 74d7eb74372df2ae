"""Fuzzing the IVR interpreter with what callers type (DTMF floods, 1000-digit inputs, nothing at all) and
dialplan number normalization with arbitrary text: no crash, and every outcome within the rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from callcenter.dialplan.loader import load_dialplan
from callcenter.dialplan.model import CollectDigits, Dialplan
from callcenter.dialplan.numbers import InvalidNumberError, normalize_number
from callcenter.ivr.interpreter import CallContext, Collect, Finish, IvrSession, Refuse

SAMPLE = Path(__file__).resolve().parents[2] / "dialplans"
DIALPLAN: Dialplan = load_dialplan(SAMPLE)
AT = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)  # a Tuesday noon in Moscow: the sample's lines are open
FUZZ = settings(max_examples=200, deadline=None)
KEYS = "0123456789*#"

presses = st.one_of(
    st.none(),  # nothing before the timeout
    st.text(alphabet=KEYS, min_size=1, max_size=3),
    st.text(alphabet=KEYS, min_size=1000, max_size=1000),  # a 1000-digit flood read as one input
    st.text(max_size=40),  # whatever GET DATA might hand back
)


@FUZZ
@given(
    st.sampled_from(sorted(DIALPLAN.numbers)),
    st.one_of(st.none(), st.text(max_size=30)),
    st.lists(presses, max_size=60),
)
@example("+78005553535", None, ["1", "7" * 1000, "1", "1234567", "#"])
@example("+78005553535", "+79161234567", ["1"] + ["9" * 1000] * 5)
def test_any_keys_walk_the_menus_to_an_end_within_the_rules(
    line: str, caller: str | None, keys: list[str | None]
) -> None:
    session = IvrSession(DIALPLAN, DIALPLAN.numbers[line], CallContext(caller, AT))
    turn = session.start()
    for pressed in keys:
        if not isinstance(turn.then, Collect):
            break
        step = turn.then
        turn = session.press(pressed)
        if step.input is not None and step.input in session.inputs:
            typed = session.inputs[step.input]
            assert typed == pressed and typed.isascii() and typed.isdigit() and len(typed) <= step.max_digits
    assert isinstance(turn.then, Collect | Finish | Refuse)
    assert len(session.path) <= len(keys)
    for name, digits in session.inputs.items():
        rules = [a for _, a in DIALPLAN.actions() if isinstance(a, CollectDigits) and a.name == name]
        assert any(r.min_digits <= len(digits) <= r.max_digits for r in rules), (name, digits)


E164_OR_SHORT = re.compile(r"\+[1-9][0-9]{6,14}|[0-9]{1,6}")


@FUZZ
@given(st.one_of(st.text(max_size=60), st.text(alphabet="+0123456789 -().tel:sip@;", max_size=30)))
@example("8 800 555-35-35")
@example("\u0667\u0668\u0660\u0660")  # Arabic-Indic digits: not ASCII, not a number
@example("sip:+78005553535@carrier;user=phone")
@example("7" * 300)
@example("<script>alert(1)</script>")
def test_any_text_normalizes_to_one_canonical_form_or_is_refused(raw: str) -> None:
    try:
        number = normalize_number(raw)
    except InvalidNumberError:
        return
    assert E164_OR_SHORT.fullmatch(number), (raw, number)
    assert normalize_number(number) == number  # canonical: normalizing again changes nothing
