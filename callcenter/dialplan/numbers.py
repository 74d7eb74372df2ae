"""Phone number normalization.

Carriers hand us the same toll-free line as 88005553535, 78005553535 or
+78005553535; caller IDs arrive in any of the Russian domestic, international
or E.164 forms. Everything is compared and stored in one canonical form, E.164
with a leading '+', so a list entry or a dialled number matches whatever form
the trunk used. Short numbers (internal extensions, service codes) are not
phone numbers in that sense and are kept as their digits.
"""

from __future__ import annotations

import re

from callcenter.errors import ConfigError

__all__ = ["InvalidNumberError", "is_extension", "normalize_number"]

# Separators people and carriers put into numbers; they carry no meaning.
_SEPARATORS = re.compile(r"[\s\-().]")
_DIALLABLE = re.compile(r"\+?[0-9]+")  # ASCII digits only: str.isdigit() would take any script's

# E.164 allows at most 15 digits; anything longer is not a phone number.
_E164_MAX_DIGITS = 15
# Extensions and service codes: short enough that no national number is this short.
_EXTENSION = re.compile(r"[0-9]{1,6}")


class InvalidNumberError(ConfigError, ValueError):
    """The text is not a phone number in any form we accept.

    A ValueError too, so model validators report it as a validation error.
    """


def is_extension(number: str) -> bool:
    """True for short internal numbers (agent extensions, feature codes)."""
    return _EXTENSION.fullmatch(number) is not None


def normalize_number(raw: str, country_code: str = "7") -> str:
    """Return the canonical form of ``raw``: '+' and the E.164 digits, or the digits of a short number.

    ``country_code`` is the country of the trunk: Russia's '7' by default, where
    the domestic trunk prefix is '8' and the international prefix '810'.
    """
    text = raw.strip()
    for scheme in ("tel:", "sip:"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :].split("@", 1)[0].split(";", 1)[0]
    text = _SEPARATORS.sub("", text)
    if not _DIALLABLE.fullmatch(text):
        raise InvalidNumberError(f"{raw!r} is not a phone number: use digits, optionally after a '+'")
    if text.startswith("+"):
        return _e164(text[1:], raw)
    if is_extension(text):
        return text
    if text.startswith("00"):
        return _e164(text[2:], raw)
    if country_code == "7":
        # 8 + ten digits is the Russian domestic form (8-800-..., 8-916-...). Russian
        # area codes never start with 0 or 1, which keeps 810 (international) apart.
        if len(text) == 11 and text[0] == "8" and text[1] not in "01":
            return "+7" + text[1:]
        if text.startswith("810"):
            return _e164(text[3:], raw)
        if len(text) == 11 and text[0] == "7":
            return "+" + text
        if len(text) == 10 and text[0] not in "01":
            return "+7" + text
        raise InvalidNumberError(f"{raw!r} is not a Russian number: expected 8/7/+7 and ten digits")
    return _e164(text, raw)


def _e164(digits: str, raw: str) -> str:
    if not 7 <= len(digits) <= _E164_MAX_DIGITS or digits[0] == "0":
        raise InvalidNumberError(f"{raw!r} is not a valid international number (E.164: 7 to 15 digits)")
    return "+" + digits
