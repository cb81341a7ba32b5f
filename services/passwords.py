"""Password hashing with argon2id; the cost comes from the app's configuration.

Hashes are computed on one dedicated thread per process at a lower CPU priority (nice 10).
argon2's C code releases the GIL and its lane threads inherit that priority, so a burst of
logins takes the CPU that other requests leave over instead of stalling them (measured in
bench/RESULTS.md: `{ hello }` while four connections log in).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import cache
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

HASHING_NICENESS = 10  # CFS weight 110 per lane thread against 1024 for a request thread
T = TypeVar("T")
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool): a forked worker makes its own
_pool_lock = threading.Lock()


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("dummy password used to even out timing")


def _lower_priority() -> None:
    with suppress(OSError):  # not permitted here: hash at the normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


def _hashing_pool() -> ThreadPoolExecutor:
    global _pool  # noqa: PLW0603 - one hashing thread per process, made after any fork
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            pool = ThreadPoolExecutor(1, "argon2", initializer=_lower_priority)
            _pool = (os.getpid(), pool)
        return _pool[1]


def _on_hashing_thread(work: Callable[..., T], *args: Any) -> T:
    """Run argon2 work on the low-priority hashing thread and wait for it."""
    return _hashing_pool().submit(work, *args).result()


def hasher() -> PasswordHasher:
    """The argon2id hasher configured for the current app."""
    config = current_app.config
    return _hasher(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]
    )


def hash_password(password: str) -> str:
    """Hash a password with argon2id (on the hashing thread; the C code runs without the GIL)."""
    return _on_hashing_thread(hasher().hash, password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash, spend the same time and say no."""
    ph = hasher()
    try:
        target = stored_hash or _on_hashing_thread(_dummy_hash, ph)
        return _on_hashing_thread(ph.verify, target, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def fingerprint(password_hash: str) -> str:
    """A short digest of a password hash: changes whenever the password does."""
    return hashlib.blake2b(password_hash.encode(), digest_size=12).hexdigest()
