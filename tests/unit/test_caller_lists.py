"""callcenter.dialplan.lists: list entries (numbers and prefixes) and matching callers against them."""

from __future__ import annotations

import pytest

from callcenter.dialplan.lists import CallerSet, normalize_entry
from callcenter.dialplan.numbers import InvalidNumberError, normalize_number


@pytest.mark.parametrize(
    ("written", "entry"),
    [
        ("8 (495) 700*", "+7495700*"),
        ("8 495 700-*", "+7495700*"),
        ("+7 (495) 700*", "+7495700*"),
        ("+7999*", "+7999*"),
        ("+1 212*", "+1212*"),
        ("  +7 900 111*  ", "+7900111*"),
        ("8*", "+7*"),
        ("+7 916 123-45-67", "+79161234567"),
        ("8 916 123 45 67", "+79161234567"),
        ("1001", "1001"),
    ],
)
def test_entries_are_normalized_like_numbers(written: str, entry: str) -> None:
    assert normalize_entry(written) == entry


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("7999*", "'7999*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("9*", "'9*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("*", "'*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("+*", "'+*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("+7\u0669*", "'+7\u0669*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("8\u0669*", "'8\u0669*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("+7 abc*", "'+7 abc*' is not a prefix: write it as +<country code>...* or 8...*"),
        ("not a number", "'not a number' is not a phone number: use digits, optionally after a '+'"),
    ],
)
def test_entries_that_are_no_number_or_prefix_are_refused(written: str, message: str) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        normalize_entry(written)
    assert str(caught.value) == message


def test_prefix_written_with_the_international_prefix_matches_what_the_number_normalizes_to() -> None:
    number = normalize_number("810 49 30 1234567")
    assert number == "+49301234567"
    assert number in CallerSet(["810 49*"])


NUMBERS = CallerSet(["+7 916 123-45-67", "8 (495) 700*", "+1 212*", "8 800 555-35-35"])


@pytest.mark.parametrize(
    "caller",
    ["+79161234567", "+74957000000", "+74957001234", "+74957009999999", "+12125550100", "+78005553535"],
)
def test_exact_numbers_and_prefixes_match(caller: str) -> None:
    assert caller in NUMBERS


@pytest.mark.parametrize(
    "caller",
    [
        "+79161234568",  # one digit off
        "+7916123456",  # shorter than the number
        "+791612345670",  # longer than the number: only prefixes match longer numbers
        "+74957101234",
        "+12135550100",
        "89161234567",  # not normalized: callers are matched in the normalized form only
        "",
    ],
)
def test_other_numbers_do_not_match(caller: str) -> None:
    assert caller not in NUMBERS


def test_a_prefix_matches_the_number_made_of_the_prefix_alone() -> None:
    assert "+7495700" in NUMBERS


@pytest.mark.parametrize("caller", [None, 79161234567, b"+79161234567", ["+79161234567"]])
def test_what_is_not_a_string_never_matches(caller: object) -> None:
    assert caller not in NUMBERS


def test_an_empty_set_is_false_and_matches_nothing() -> None:
    empty = CallerSet([])
    assert not empty
    assert bool(empty) is False
    assert "+79161234567" not in empty
    assert "" not in empty


@pytest.mark.parametrize("entries", [["+79161234567"], ["+7999*"], ["8 (495) 700*", "+79161234567"]])
def test_a_set_with_an_entry_is_true(entries: list[str]) -> None:
    assert bool(CallerSet(entries)) is True


def test_a_set_is_built_from_any_iterable_and_refuses_bad_entries() -> None:
    assert "+79161234567" in CallerSet(entry for entry in ["8 916 123-45-67"])
    with pytest.raises(InvalidNumberError):
        CallerSet(["+79161234567", "7999*"])
