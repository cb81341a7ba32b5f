"""The request's session: a dict whose record is read on first use, with one life-cycle state.

The state says where the session stands between its record in Redis and the response's
cookie; the store reads it to decide what the response does (see ``Lifecycle``). Changes
made through the dict's methods (or ``modified = True``, Flask's flag for nested data)
move it to CHANGED or DRAFT; the store's writes and deletions move it on from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import Enum, auto
from typing import Any

from flask_session.redis import RedisSession

RecordReader = Callable[[str], dict[str, Any]]  # the record of a session id ({} when none)


class Lifecycle(Enum):
    """Where a session stands; the comment says what the response does about it."""

    NEW = auto()  # no record behind it and nothing to write (no cookie, or one naming nothing)
    PENDING = auto()  # the cookie names an id; its record is read on first use
    LOADED = auto()  # the record, read and unchanged: nothing (but an idle-timeout touch)
    CHANGED = auto()  # the record, changed: updated in place (SET XX), or deleted if emptied
    DRAFT = auto()  # data without a record: created under a new id (SET NX)
    SAVED = auto()  # written in this request under its id: the response sets the cookie
    ENDED = auto()  # no session any more (logged out, found gone, refused): cookie cleared


_WITH_RECORD = frozenset({Lifecycle.LOADED, Lifecycle.CHANGED, Lifecycle.SAVED})
_UNWRITTEN = frozenset({Lifecycle.CHANGED, Lifecycle.DRAFT})


class StoredSession(RedisSession):
    """A session whose record is fetched from Redis the first time it is used."""

    permanent = True  # every session lives for SESSION_LIFETIME, as in the seed
    sid: str | None

    def __init__(self, sid: str | None = None, reader: RecordReader | None = None):
        self.state = Lifecycle.PENDING if sid and reader else Lifecycle.NEW
        self._reader = reader
        super().__init__(None, sid=sid)

    # -- the life cycle ---------------------------------------------------------------

    @property
    def stored(self) -> bool:
        """Whether a record for ``sid`` is known to exist in Redis."""
        return self.state in _WITH_RECORD

    @property
    def modified(self) -> bool:
        """Whether the session holds changes not written yet (Flask's flag, from the state)."""
        return self.state in _UNWRITTEN

    @modified.setter
    def modified(self, value: bool) -> None:
        # True is Flask's way to flag a change to nested data. False only comes from the
        # base class's constructor: a change is settled by writing or ending the session.
        if value:
            self.mark_changed()

    def load(self) -> None:
        """Read the record now if it has not been read yet."""
        if self.state is Lifecycle.PENDING and self._reader is not None and self.sid:
            self.take_record(self._reader(self.sid))

    def take_record(self, data: dict[str, Any]) -> None:
        """Fill a pending session with its record's data (empty: there is no record)."""
        assert self.state is Lifecycle.PENDING
        self._reader = None
        dict.update(self, data)
        self.state = Lifecycle.LOADED if data else Lifecycle.NEW

    def mark_changed(self) -> None:
        """Note a change: the record is to be updated, or created if there is none."""
        self.load()
        self.state = Lifecycle.CHANGED if self.stored else Lifecycle.DRAFT

    def renew(self) -> None:
        """Drop the id (its record is gone): the contents are written under a new one."""
        self.sid = None
        self.state = Lifecycle.DRAFT

    def begin_write(self) -> None:
        """One write attempt: until it succeeds there is nothing to retry, nothing to send."""
        self.state = Lifecycle.NEW

    def saved(self, sid: str, stamps: dict[str, Any]) -> None:
        """The record was written under ``sid`` (with ``stamps`` added): send the cookie."""
        dict.update(self, stamps)
        self.sid = sid
        self.state = Lifecycle.SAVED

    def end(self) -> None:
        """No session any more: the contents go and the response clears the cookie."""
        dict.clear(self)
        self.state = Lifecycle.ENDED

    def drop(self, *, forget_id: bool) -> None:
        """Empty the session and leave the cookie alone; ``forget_id`` when the client lacks it."""
        dict.clear(self)
        if forget_id:
            self.sid = None
        self.state = Lifecycle.NEW
        self.accessed = True

    # -- the dict, loaded on first use --------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        self.load()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        """Return a value, loading the record first."""
        self.load()
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Return a value, setting it if missing, loading the record first."""
        self.load()
        return super().setdefault(key, default)

    def __contains__(self, key: object) -> bool:
        self.load()
        self.accessed = True
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.load()
        self.accessed = True
        return super().__iter__()

    def __len__(self) -> int:
        self.load()
        return super().__len__()

    def __bool__(self) -> bool:
        self.load()
        return dict.__len__(self) > 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.load()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.load()
        super().__delitem__(key)

    def keys(self) -> Any:
        """Return the keys, loading the record first."""
        self.load()
        return super().keys()

    def items(self) -> Any:
        """Return the items, loading the record first."""
        self.load()
        self.accessed = True
        return super().items()

    def pop(self, key: str, *default: Any) -> Any:
        """Remove a key, loading the record first."""
        self.load()
        return super().pop(key, *default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update values, loading the record first."""
        self.load()
        super().update(*args, **kwargs)

    def clear(self) -> None:
        """Remove every value (a change: the record is deleted when the response is saved)."""
        self.load()
        dict.clear(self)
        self.mark_changed()
        self.accessed = True

    def data(self) -> dict[str, Any]:
        """A plain copy of the contents."""
        self.load()
        return dict(dict.items(self))
