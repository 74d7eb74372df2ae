"""Password hashes for the web users: scrypt (stdlib ``hashlib.scrypt``) with a random salt per password.

The stored text carries its own parameters, so they can be raised later without breaking old hashes:

    scrypt$<log2 n>$<r>$<p>$<salt, base64>$<hash, base64>

Verifying compares in constant time. No default password exists anywhere: passwords are typed by an
administrator (``callcenter users add/passwd --password-stdin``) or generated (``generate_password``).

Pure: no I/O, no clock (the salt comes from the OS's random source).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from callcenter.errors import CallcenterError

__all__ = [
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "PasswordError",
    "ScryptCost",
    "check_new_password",
    "generate_password",
    "hash_password",
    "verify_password",
]

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # scrypt takes any length; a bound keeps a hostile log-in form cheap
_SCHEME = "scrypt"


class PasswordError(CallcenterError):
    """A password refused (too short, too long), or a stored hash that cannot be read."""


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's work factors: n = 2**log_n. 2**15, 8, 1 costs ~32 MiB and tens of milliseconds per try."""

    log_n: int = 15
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        return int(2 * 128 * self.r * (2**self.log_n) * self.p + 1024 * 1024)


def check_new_password(password: str) -> str:
    """A password a user may be given: PASSWORD_MIN to PASSWORD_MAX characters, not only blanks."""
    if not password.strip() or len(password) < PASSWORD_MIN:
        raise PasswordError(f"a password needs at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise PasswordError(f"a password has at most {PASSWORD_MAX} characters")
    return password


def generate_password() -> str:
    """A random password to print once (about 120 bits)."""
    return secrets.token_urlsafe(15)


def hash_password(password: str, cost: ScryptCost = ScryptCost(), salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    derived = _derive(password, salt, cost)
    return "$".join((_SCHEME, str(cost.log_n), str(cost.r), str(cost.p), _b64(salt), _b64(derived)))


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from; an unreadable hash never matches."""
    try:
        scheme, log_n, r, p, salt, expected = stored.split("$")
        if scheme != _SCHEME:
            return False
        cost = ScryptCost(int(log_n), int(r), int(p))
        if not (1 <= cost.log_n <= 20 and 1 <= cost.r <= 32 and 1 <= cost.p <= 16):
            return False
        want = base64.b64decode(expected, validate=True)
        derived = _derive(password[: PASSWORD_MAX * 4], base64.b64decode(salt, validate=True), cost, len(want))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(derived, want)


def _derive(password: str, salt: bytes, cost: ScryptCost, length: int = 32) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=2**cost.log_n,
        r=cost.r,
        p=cost.p,
        maxmem=cost.maxmem,
        dklen=length,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
