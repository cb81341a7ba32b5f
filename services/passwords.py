"""Password hashing with argon2id; the cost comes from the app's configuration."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("dummy password used to even out timing")


def hasher() -> PasswordHasher:
    """The argon2id hasher configured for the current app."""
    config = current_app.config
    return _hasher(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]
    )


def hash_password(password: str) -> str:
    """Hash a password with argon2id (the C code runs without the GIL)."""
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash, spend the same time and say no."""
    ph = hasher()
    try:
        return ph.verify(stored_hash or _dummy_hash(ph), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
