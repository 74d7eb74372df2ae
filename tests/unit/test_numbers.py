"""callcenter.dialplan.numbers: one canonical form for every way a number is written."""

from __future__ import annotations

import pytest

from callcenter.dialplan.numbers import InvalidNumberError, is_extension, normalize_number
from callcenter.errors import CallcenterError, ConfigError

TOLL_FREE = "+78005553535"


def test_domestic_8_prefix_becomes_plus_7() -> None:
    assert normalize_number("88005553535") == TOLL_FREE


def test_international_7_without_plus_gets_a_plus() -> None:
    assert normalize_number("78005553535") == TOLL_FREE


def test_e164_form_is_kept_as_is() -> None:
    assert normalize_number("+78005553535") == TOLL_FREE


@pytest.mark.parametrize(
    "written",
    [
        "8 (800) 555-35-35",
        "8-800-555-35-35",
        "8.800.555.35.35",
        "+7 (800) 555 35 35",
        "  88005553535  ",
        "8 800 555 35 35\n",
        "8\t800\t5553535",
    ],
)
def test_separators_spaces_and_surrounding_whitespace_are_ignored(written: str) -> None:
    assert normalize_number(written) == TOLL_FREE


@pytest.mark.parametrize(
    "uri",
    [
        "tel:+78005553535",
        "TEL:+78005553535",
        "tel:+7-800-555-35-35;phone-context=example.com",
        "sip:+78005553535@host;user=phone",
        "SIP:+78005553535@carrier.example:5060",
        "sip:88005553535@10.0.0.1",
        "sip:+78005553535;user=phone",
    ],
)
def test_tel_and_sip_uris_are_reduced_to_their_number(uri: str) -> None:
    assert normalize_number(uri) == TOLL_FREE


def test_all_written_forms_of_one_line_compare_equal() -> None:
    forms = [
        "88005553535",
        "78005553535",
        "+78005553535",
        "8 (800) 555-35-35",
        "tel:+78005553535",
        "sip:+78005553535@host;user=phone",
    ]
    assert {normalize_number(form) for form in forms} == {TOLL_FREE}


def test_ten_digit_national_number_gets_plus_7() -> None:
    assert normalize_number("9161234567") == "+79161234567"


def test_ten_digit_national_number_with_separators_gets_plus_7() -> None:
    assert normalize_number("(916) 123-45-67") == "+79161234567"


def test_st_petersburg_area_code_812_is_domestic_not_international() -> None:
    # 8 followed by 812...: the second digit is 8, so this is not the 810 international prefix.
    assert normalize_number("88121234567") == "+78121234567"


def test_810_international_prefix_is_replaced_by_plus() -> None:
    assert normalize_number("81044201234567") == "+44201234567"


def test_810_prefix_to_the_usa() -> None:
    assert normalize_number("8 10 1 202 555 0123") == "+12025550123"


def test_00_international_prefix_is_replaced_by_plus() -> None:
    assert normalize_number("0044201234567") == "+44201234567"


def test_00_international_prefix_works_for_any_trunk_country() -> None:
    assert normalize_number("0044201234567", country_code="1") == "+44201234567"


def test_e164_number_of_another_country_is_kept() -> None:
    assert normalize_number("+1 202 555 0123") == "+12025550123"


@pytest.mark.parametrize("extension", ["1", "100", "1001", "123456", "001"])
def test_short_extensions_are_kept_as_their_digits(extension: str) -> None:
    assert normalize_number(extension) == extension


def test_extension_in_a_sip_uri_is_kept_as_its_digits() -> None:
    assert normalize_number("sip:1001@pbx.example") == "1001"


def test_extension_with_surrounding_whitespace_is_stripped() -> None:
    assert normalize_number(" 1001 ") == "1001"


def test_normalizing_is_idempotent() -> None:
    for raw in ["88005553535", "9161234567", "0044201234567", "1001", "81012025550123"]:
        once = normalize_number(raw)
        assert normalize_number(once) == once


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="only-spaces"),
        pytest.param("abc", id="letters"),
        pytest.param("8800555353a", id="letter-at-end"),
        pytest.param("8(800)abc", id="letters-after-separators"),
        pytest.param("+", id="plus-only"),
        pytest.param("++78005553535", id="double-plus"),
        pytest.param("7+8005553535", id="plus-inside"),
        pytest.param("+0123456789", id="plus-zero"),
        pytest.param("+07800555353", id="plus-zero-eleven-digits"),
        pytest.param("+1234567890123456", id="sixteen-digits-too-long"),
        pytest.param("001234567890123456", id="00-prefix-too-long"),
        pytest.param("+123456", id="e164-too-short"),
        pytest.param("00123456", id="00-prefix-too-short"),
        pytest.param("81012345", id="810-prefix-too-short"),
        pytest.param("1234567", id="seven-digits-neither-extension-nor-russian"),
        pytest.param("880055535351", id="twelve-digits-russian"),
        pytest.param("0123456789", id="ten-digits-starting-with-0"),
        pytest.param("1123456789", id="ten-digits-starting-with-1"),
        pytest.param("sip:", id="empty-sip-uri"),
        pytest.param("tel:", id="empty-tel-uri"),
        pytest.param("sip:alice@example.com", id="sip-user-not-a-number"),
        pytest.param("8_800_555_35_35", id="underscores"),
        pytest.param("\u0661\u0660\u0660\u0661", id="arabic-indic-digits"),
    ],
)
def test_invalid_input_raises_invalid_number_error(raw: str) -> None:
    with pytest.raises(InvalidNumberError):
        normalize_number(raw)


def test_invalid_number_error_is_a_value_error_and_a_config_error() -> None:
    with pytest.raises(ValueError):
        normalize_number("not a number")
    assert issubclass(InvalidNumberError, ValueError)
    assert issubclass(InvalidNumberError, ConfigError)
    assert issubclass(InvalidNumberError, CallcenterError)


def test_invalid_number_error_message_quotes_the_input() -> None:
    with pytest.raises(InvalidNumberError, match="'8800-CALL-ME'"):
        normalize_number("8800-CALL-ME")


@pytest.mark.parametrize("number", ["1", "1001", "123456", "000"])
def test_is_extension_true_for_up_to_six_ascii_digits(number: str) -> None:
    assert is_extension(number)


@pytest.mark.parametrize(
    "number",
    ["", "1234567", "+1001", "10 01", "10a1", "88005553535", "+78005553535", "-1"],
)
def test_is_extension_false_for_empty_long_or_non_digit_text(number: str) -> None:
    assert not is_extension(number)


@pytest.mark.parametrize(
    "number",
    [
        "\u0661\u0660\u0660\u0661",  # Arabic-Indic digits
        "\uff11\uff10\uff10\uff11",  # fullwidth digits
        "\u00b2",  # superscript two: str.isdigit() is True for it
        "1001\n",  # a trailing newline is not part of an extension
    ],
)
def test_is_extension_rejects_non_ascii_digits_and_trailing_newline(number: str) -> None:
    assert not is_extension(number)


@pytest.mark.parametrize("number", ["\u0661\u0660\u0660\u0661", "\uff11\uff10\uff10\uff11", "\u00b2"])
def test_is_extension_and_normalize_number_agree_on_non_ascii_digits(number: str) -> None:
    assert not is_extension(number)
    with pytest.raises(InvalidNumberError, match="is not a phone number"):
        normalize_number(number)
