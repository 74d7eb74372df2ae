"""Caller lists: exact numbers and prefixes, written in any number form, matched on the normalized form.

An entry is a number (`+79161234567`, `8 916 123-45-67`) or a prefix ending in
`*` (`+7999*`, `8 (495) *`). Prefixes are normalized like numbers: a leading 8
is Russia's trunk prefix and becomes +7; a prefix must otherwise start with `+`,
since a bare `7...` or `9...` prefix could mean two different things.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from callcenter.dialplan.numbers import InvalidNumberError, normalize_number

__all__ = ["CallerSet", "normalize_entry"]

_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_entry(text: str) -> str:
    """The canonical form of a list entry: '+7916...' for a number, '+7999*' for a prefix."""
    if not text.rstrip().endswith("*"):
        return normalize_number(text)
    digits = _SEPARATORS.sub("", text.strip()[:-1])
    if digits.startswith("+") and digits[1:].isascii() and digits[1:].isdigit() and len(digits) >= 2:
        return digits + "*"
    if digits.isascii() and digits.isdigit():
        # The international prefixes (810, 00) before the domestic one (8), as normalize_number does.
        for international in ("810", "00"):
            if digits.startswith(international) and len(digits) > len(international):
                return "+" + digits[len(international) :] + "*"
        if digits.startswith("8"):
            return "+7" + digits[1:] + "*"
    raise InvalidNumberError(f"{text!r} is not a prefix: write it as +<country code>...* or 8...*")


class CallerSet:
    """A set of normalized numbers and prefixes; membership is one set lookup and one prefix scan."""

    def __init__(self, entries: Iterable[str]) -> None:
        normalized = [normalize_entry(entry) for entry in entries]
        self._numbers = frozenset(entry for entry in normalized if not entry.endswith("*"))
        self._prefixes = tuple(sorted({entry[:-1] for entry in normalized if entry.endswith("*")}))

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, str) or not number:
            return False
        return number in self._numbers or any(number.startswith(prefix) for prefix in self._prefixes)

    def __bool__(self) -> bool:
        return bool(self._numbers or self._prefixes)

    def __eq__(self, other: object) -> bool:
        # Dialplans are compared (is a reload a change?), and they hold their caller sets.
        if not isinstance(other, CallerSet):
            return NotImplemented
        return self._numbers == other._numbers and self._prefixes == other._prefixes

    def __hash__(self) -> int:
        return hash((self._numbers, self._prefixes))
