"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_strong = PasswordHasher()
# Tests create many users; cheap parameters are selected by YAOSU_ARGON2_FAST only.
_fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str, fast: bool = False) -> str:
    return (_fast if fast else _strong).hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _strong.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
