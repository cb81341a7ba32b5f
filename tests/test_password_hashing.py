"""argon2 work runs on a low-priority hashing thread of its own, in every process."""

from __future__ import annotations

import os
import threading

from flask import Flask

from services import passwords


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_hashes_are_computed_off_the_calling_thread_at_lower_priority() -> None:
    before = _niceness()
    pool = passwords._hashing_pool()
    thread_id, niceness = pool.submit(lambda: (threading.get_native_id(), _niceness())).result(5)
    assert thread_id != threading.get_native_id()
    assert niceness >= passwords.HASHING_NICENESS
    assert _niceness() == before  # the calling (request) thread keeps its priority


def test_hash_and_verify_round_trip(app: Flask) -> None:
    with app.app_context():
        stored = passwords.hash_password("correct horse")
        assert passwords.verify_password(stored, "correct horse") is True
        assert passwords.verify_password(stored, "wrong horse!") is False
        assert passwords.verify_password(None, "correct horse") is False
        assert passwords.verify_password("not a hash", "correct horse") is False


def test_a_forked_worker_gets_its_own_hashing_thread() -> None:
    passwords._hashing_pool().submit(int).result(5)  # the parent's thread exists
    pid = os.fork()
    if pid == 0:  # the child: an inherited pool would have no thread and never answer
        try:
            ok = passwords._hashing_pool().submit(lambda: 42).result(5) == 42
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
