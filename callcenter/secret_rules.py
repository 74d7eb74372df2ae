"""How strong a secret someone chose must be: phone (SIP) passwords in the dialplan, the AMI secret given in the
environment. Secrets the call center makes itself are random and long; these rules are for the ones people type.

SIP digest passwords are guessed online (REGISTER after REGISTER) and offline from one captured exchange, so
length and variety matter more than anything: at least ``min_length`` characters, more than one kind of
character (lower case, upper case, digits, others), not one character over and over, not a well-known sample
("changeme", "password", Asterisk's "amp111", ...), and not containing what an attacker already knows (the
phone's extension).

Pure: no I/O; stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PHONE_PASSWORD_MIN", "SECRET_MIN", "weakness"]

PHONE_PASSWORD_MIN = 12
SECRET_MIN = 16  # the AMI secret: a machine's, never typed on a phone's keypad

# Samples seen in Asterisk and FreePBX guides and default configs: refused whatever their length.
_SAMPLES = frozenset(
    {"password", "passw0rd", "changeme", "change-me", "secret", "amp111", "asterisk", "admin", "letmein",
     "qwerty", "welcome", "default", "1234", "12345", "123456", "1234567890", "0000"}
)  # fmt: skip


def weakness(secret: str, min_length: int, known: Iterable[str] = ()) -> str | None:
    """Why ``secret`` is too weak, or None when it is strong enough. ``known``: what an attacker knows (an
    extension, a user name) and the secret must not contain."""
    lowered = secret.lower()
    if lowered in _SAMPLES or any(sample in lowered for sample in _SAMPLES if len(sample) >= 6):
        return "it is, or contains, a well-known sample password"
    if len(secret) < min_length:
        return f"it has {len(secret)} characters; at least {min_length} are needed"
    if len(set(secret)) < 4:
        return "it repeats too few different characters"
    kinds = sum(
        (
            any(c.islower() for c in secret),
            any(c.isupper() for c in secret),
            any(c.isdigit() for c in secret),
            any(not c.isalnum() for c in secret),
        )
    )
    if kinds < 2:
        return "it uses one kind of character only; mix letters with digits, capitals or signs"
    for word in known:
        if word and word.lower() in lowered:
            return f"it contains {word!r}, which is no secret"
    return None
