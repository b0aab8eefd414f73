"""Password hashing (argon2id, argon2-cffi) and the password policy.

The list of common passwords is the 30,000 most common passwords that the
zxcvbn package ships (``zxcvbn.frequency_lists``)."""

from __future__ import annotations

import functools
import unicodedata

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD_CHARS = 1024


class PasswordRejected(ValueError):
    """The password breaks the policy; the message says why, for the user."""


def make_hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, hash_len=32, salt_len=16, type=Type.ID
    )


def normalise(password: str) -> str:
    """NFC, so the same password typed on two systems hashes the same. Nothing is cut."""
    return unicodedata.normalize("NFC", password)


@functools.cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def check_policy(password: str, min_length: int, *, personal: tuple[str, ...] = ()) -> None:
    """Raise PasswordRejected with a readable reason, or return."""
    if len(password) < min_length:
        raise PasswordRejected(f"the password must be at least {min_length} characters long")
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordRejected(f"the password must be at most {MAX_PASSWORD_CHARS} characters long")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(password)) < 3:
        raise PasswordRejected("this password is too common; choose one that is harder to guess")
    for value in personal:
        if value and (lowered == value.lower() or lowered in value.lower()):
            raise PasswordRejected("the password must not be your username or email address")


class Passwords:
    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self._timing_hash = hasher.hash("not a real password, used to keep timing even")

    def hash(self, password: str) -> str:
        return self.hasher.hash(normalise(password))

    def verify(self, stored: str | None, password: str) -> bool:
        """Constant work whether or not the account exists (``stored`` None)."""
        try:
            return self.hasher.verify(stored or self._timing_hash, normalise(password)) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)
