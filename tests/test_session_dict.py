"""The session is a dict whose record is read from Redis on first use: every way of reading
or changing it reads the record first (once), reads leave it LOADED, changes make it CHANGED
(or DRAFT when there was no record), so nothing a view does to it is lost or written blind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sessions.session import Lifecycle, StoredSession

RECORD = {"userId": 7, "theme": "dark"}


class CountingReader:
    """A record reader that counts how often the record was fetched."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.calls = 0

    def __call__(self, sid: str) -> dict[str, Any]:
        assert sid == "sid-1"
        self.calls += 1
        return dict(self.record)


def pending(record: dict[str, Any]) -> tuple[StoredSession, CountingReader]:
    reader = CountingReader(record)
    session = StoredSession("sid-1", reader)
    assert session.state is Lifecycle.PENDING and reader.calls == 0
    return session, reader


READS: dict[str, Callable[[StoredSession], object]] = {
    "getitem": lambda s: s["userId"],
    "get": lambda s: s.get("userId"),
    "contains": lambda s: "userId" in s,
    "iter": sorted,
    "len": len,
    "bool": bool,
    "keys": lambda s: sorted(s.keys()),
    "items": lambda s: sorted(s.items()),
    "data": lambda s: s.data(),
    "setdefault present": lambda s: s.setdefault("userId", 0),
}
EXPECTED = {
    "getitem": 7,
    "get": 7,
    "contains": True,
    "iter": ["theme", "userId"],
    "len": 2,
    "bool": True,
    "keys": ["theme", "userId"],
    "items": [("theme", "dark"), ("userId", 7)],
    "data": RECORD,
    "setdefault present": 7,
}


@pytest.mark.parametrize("name", READS)
def test_reads_see_the_record_read_once_and_change_nothing(name: str) -> None:
    session, reader = pending(RECORD)
    assert READS[name](session) == EXPECTED[name]
    READS[name](session)
    assert reader.calls == 1
    assert session.state is Lifecycle.LOADED and not session.modified


CHANGES: dict[str, Callable[[StoredSession], object]] = {
    "setitem": lambda s: s.__setitem__("theme", "light"),
    "delitem": lambda s: s.__delitem__("theme"),
    "pop": lambda s: s.pop("theme"),
    "setdefault missing": lambda s: s.setdefault("lang", "en"),
    "update": lambda s: s.update(theme="light"),
    "clear": lambda s: s.clear(),
}


@pytest.mark.parametrize("name", CHANGES)
def test_changes_to_a_stored_session_keep_the_rest_of_its_record(name: str) -> None:
    session, reader = pending(RECORD)
    CHANGES[name](session)
    assert reader.calls == 1
    assert session.state is Lifecycle.CHANGED and session.modified
    if name != "clear":
        assert session.data()["userId"] == 7  # the record was read before the change


@pytest.mark.parametrize("name", ["setitem", "update", "setdefault missing"])
def test_changes_to_a_session_whose_record_is_gone_make_a_new_one(name: str) -> None:
    session, _ = pending({})
    CHANGES[name](session)
    assert session.state is Lifecycle.DRAFT and session.modified


def test_an_empty_record_reads_as_an_empty_session() -> None:
    session, reader = pending({})
    assert not session and len(session) == 0 and session.get("userId") is None
    assert session.state is Lifecycle.NEW and reader.calls == 1
