"""Password hashing of the web users (callcenter/web/passwords.py)."""

from __future__ import annotations

import pytest

from callcenter.web.passwords import (
    PasswordError,
    ScryptCost,
    check_new_password,
    generate_password,
    hash_password,
    verify_password,
)

CHEAP = ScryptCost(log_n=10)


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("correct horse battery", CHEAP)
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("", stored)


def test_the_hash_carries_its_parameters_and_a_random_salt() -> None:
    first, second = hash_password("same password!", CHEAP), hash_password("same password!", CHEAP)
    assert first != second  # salted
    scheme, log_n, r, p, _, _ = first.split("$")
    assert (scheme, log_n, r, p) == ("scrypt", "10", "8", "1")
    assert hash_password("x" * 12).split("$")[1] == "15"  # the default cost


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "bcrypt$1$2$3$AAAA$AAAA", "scrypt$99$8$1$AAAA$AAAA", "scrypt$10$8$1$!!$AAAA", "scrypt$a$b$c$d$e"],
)
def test_an_unreadable_hash_never_matches(stored: str) -> None:
    assert not verify_password("anything at all", stored)


def test_new_passwords_are_long_enough_and_generated_ones_are_random() -> None:
    with pytest.raises(PasswordError):
        check_new_password("short")
    with pytest.raises(PasswordError):
        check_new_password(" " * 20)
    with pytest.raises(PasswordError):
        check_new_password("x" * 1000)
    assert check_new_password("long enough!") == "long enough!"
    assert len({generate_password() for _ in range(20)}) == 20
