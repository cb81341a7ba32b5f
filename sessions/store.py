"""Server-side sessions in Redis: Flask-Session's RedisSessionInterface with safer rules.

What changes from the stock interface, and why:
- the record is read lazily, on first access, so a request that never looks at the
  session (``{ hello }`` with a cookie) costs no Redis command and survives a Redis outage;
- reads never write (the seed's ``resave: false``): one GET per logged-in read;
- a cookie that is not a well-formed id is anonymous without touching Redis;
- records are decoded as msgpack only; one that does not decode is deleted, never unpickled;
- records are compact: the fields every session carries are stored under small integer
  keys, and ids are 128-bit, so a logged-in session takes about half the seed's memory;
- new sessions are written with ``SET NX`` and existing ones with ``SET XX``, so a write
  never recreates a session that logout or revocation deleted meanwhile;
- ``regenerate`` always issues a new id, also for an empty session (no fixation).
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import redis
from flask import Flask, Request, Response, current_app
from flask import session as flask_session
from flask_session.redis import RedisSession, RedisSessionInterface
from redis.exceptions import RedisClusterException, RedisError

from infra.headers import add_vary
from sessions.index import SessionIndex

log = logging.getLogger(__name__)

# Ids are secrets.token_urlsafe(SESSION_ID_LENGTH): 22 characters for 16 bytes; the range
# also accepts the 43-character ids issued before ids were shortened, and longer settings.
SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")
LEGACY_SID_LENGTH = 43  # ids of the versions that stored field names in full
CREATED_AT = "createdAt"  # seconds since the epoch, stamped when the record is first written
SEEN_AT = "seenAt"  # last activity, kept only when an idle timeout is configured
# Stored names of common fields: a msgpack fixint key is 1 byte where "createdAt" is 10.
# Session keys are always strings, so an integer key cannot collide with one.
FIELD_CODES = {"userId": 0, "u": 1, CREATED_AT: 2, SEEN_AT: 3}
FIELD_NAMES = {code: name for name, code in FIELD_CODES.items()}
_decoder = msgspec.msgpack.Decoder(dict[str | int, Any])
_encoder = msgspec.msgpack.Encoder()


def decode_record(raw: bytes) -> dict[str, Any] | None:
    """Decode a stored session record, or None if it is not a msgpack map of known keys."""
    try:
        stored = _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    data: dict[str, Any] = {}
    for key, value in stored.items():
        name = FIELD_NAMES.get(key) if isinstance(key, int) else key
        if name is None:
            return None  # an integer key this version does not know
        data[name] = value
    return data


def encode_record(data: dict[str, Any], sid: str) -> bytes:
    """Encode session data for storage, common field names as their codes.

    Records under ids issued by earlier versions keep their names in full: during a
    rolling deploy an instance still on such a version may read them, and it deletes a
    record it cannot decode. (It never looks up a new, shorter id: its pattern refuses it.)
    """
    if len(sid) == LEGACY_SID_LENGTH:
        return _encoder.encode(data)
    return _encoder.encode({FIELD_CODES.get(key, key): value for key, value in data.items()})


class StoredSession(RedisSession):
    """A session whose record is fetched from Redis the first time it is used."""

    permanent = True  # every session lives for SESSION_LIFETIME, as in the seed

    def __init__(self, sid: str | None = None):
        super().__init__(None, sid=sid)
        self._loader: Callable[[], dict[str, Any]] | None = None
        self.stored = False  # True once a record for ``sid`` is known to exist in Redis
        self.ended = False  # True when a write found the record gone (logout won the race)
        self.touch_due = False  # True when the idle-timeout expiry should be pushed back
        self.cookie_pending = False  # True once persisted under an id the client lacks

    def _load(self) -> None:
        if self._loader is not None:
            loader, self._loader = self._loader, None
            data = loader()
            self.stored = bool(data)
            dict.update(self, data)

    def __getitem__(self, key: str) -> Any:
        self._load()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        """Return a value, loading the record first."""
        self._load()
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Return a value, setting it if missing, loading the record first."""
        self._load()
        return super().setdefault(key, default)

    def __contains__(self, key: object) -> bool:
        self._load()
        self.accessed = True
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self._load()
        self.accessed = True
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def __bool__(self) -> bool:
        self._load()
        return dict.__len__(self) > 0

    def __setitem__(self, key: str, value: Any) -> None:
        self._load()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._load()
        super().__delitem__(key)

    def keys(self) -> Any:
        """Return the keys, loading the record first."""
        self._load()
        return super().keys()

    def items(self) -> Any:
        """Return the items, loading the record first."""
        self._load()
        self.accessed = True
        return super().items()

    def pop(self, key: str, *default: Any) -> Any:
        """Remove a key, loading the record first."""
        self._load()
        return super().pop(key, *default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update values, loading the record first."""
        self._load()
        super().update(*args, **kwargs)

    def clear(self) -> None:
        """Remove every value."""
        self._load()
        dict.clear(self)
        self.modified = True
        self.accessed = True

    def discard(self) -> None:
        """Empty the local copy only: no load, nothing marked for writing."""
        dict.clear(self)

    def data(self) -> dict[str, Any]:
        """A plain copy of the contents."""
        self._load()
        return dict(dict.items(self))


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live: lifetime, and the optional idle and absolute limits (0 = off)."""

    lifetime: int
    idle_timeout: int = 0
    max_age: int = 0
    touch_interval: int = 60

    def ttl(self, created_at: int, now: int) -> int:
        """Seconds the record may live from ``now``."""
        ttl = self.lifetime
        if self.idle_timeout:
            ttl = min(ttl, self.idle_timeout)
        if self.max_age:
            ttl = min(ttl, created_at + self.max_age - now)
        return ttl

    def expired(self, data: dict[str, Any], now: int) -> bool:
        """Whether a record is past the absolute limit."""
        return bool(self.max_age) and now - int(data.get(CREATED_AT, now)) >= self.max_age

    def touch_due(self, data: dict[str, Any], now: int) -> bool:
        """Whether an idle-timeout session should have its expiry pushed back now."""
        seen = int(data.get(SEEN_AT, data.get(CREATED_AT, now)))
        return bool(self.idle_timeout) and now - seen >= self.touch_interval


class SessionInterrupted(Exception):
    """The session was ended (logout, revocation) while this request was changing it."""


class RedisSessionStore(RedisSessionInterface):
    """Flask-Session's Redis interface with lazy reads, safe records and race-free writes."""

    session_class = StoredSession

    def __init__(
        self,
        app: Flask,
        client: redis.Redis,
        key_prefix: str,
        sid_length: int,
        *,
        policy: SessionPolicy,
        index: SessionIndex,
    ) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "No valid Redis instance", RuntimeWarning)
            super().__init__(
                app, client=client, key_prefix=key_prefix, sid_length=sid_length, permanent=True
            )
        # Flask-Session 0.8 swaps any client that is not a redis.Redis (a RedisCluster) for
        # Redis() on localhost, with a warning: keep the client we were given. (Any, as the
        # attribute was before: Flask-Session is untyped.)
        self.client: Any = client
        self.policy = policy
        self.index = index

    def store_key(self, sid: str) -> str:
        """The Redis key holding the session ``sid``."""
        return self.key_prefix + sid

    def open_session(self, app: Flask, request: Request) -> StoredSession:
        """Return the request's session; its record is fetched only when first used."""
        if "HTTP_COOKIE" not in request.environ:  # most API clients: skip parsing cookies
            return self.session_class()
        sid = request.cookies.get(self.get_cookie_name(app))
        if not sid or not SID_PATTERN.fullmatch(sid):
            return self.session_class()
        session = self.session_class(sid=sid)
        session._loader = lambda: self._fetch(session, sid)
        return session

    def _fetch(self, session: StoredSession, sid: str) -> dict[str, Any]:
        key = self.store_key(sid)
        return self._accept(session, key, self.client.get(key))

    def load_with_ttl(self, session: StoredSession) -> int | None:
        """Load the record if not yet loaded, reading its TTL in the same round trip.

        Returns the seconds the record has left, or None when there is no live record.
        """
        if session.sid is None:
            return None
        key = self.store_key(session.sid)
        if session._loader is None:  # loaded already: only the TTL is left to read
            return _seconds(self.client.ttl(key)) if session.stored else None
        pipe = self.client.pipeline(transaction=False)
        pipe.get(key)
        pipe.ttl(key)
        raw, ttl = pipe.execute()
        session._loader = lambda: self._accept(session, key, raw)
        session._load()
        return _seconds(ttl) if session.stored else None

    def _accept(self, session: StoredSession, key: str, raw: bytes | None) -> dict[str, Any]:
        """The record's data if it is valid and within its limits; else {} (and it is deleted)."""
        if raw is None:
            return {}
        data = decode_record(raw)
        if data is None:
            log.warning("deleted an undecodable session record %s", key[: len(self.key_prefix) + 6])
            self.client.delete(key)
            return {}
        now = int(time.time())
        if self.policy.expired(data, now):
            self.client.delete(key)
            return {}
        session.touch_due = self.policy.touch_due(data, now)
        return data

    def regenerate(self, session: StoredSession) -> None:
        """Give the session a new id and delete the old record, whatever the session holds."""
        session._load()
        if session.stored and session.sid:
            self.client.delete(self.store_key(session.sid))
        session.sid = None
        session.stored = False
        session.cookie_pending = False
        session.modified = True

    def destroy(self, session: StoredSession) -> None:
        """Delete the session's record and empty it; the response clears the cookie.

        If Redis fails, the error propagates and the response neither retries the delete
        nor touches the cookie: a logout can simply be retried, and an id created in this
        request is never sent. Nor is a cookie cleared that the client never received.
        """
        session._load()
        unsent = session.cookie_pending  # its id was made in this request: the client lacks it
        try:
            if session.sid:
                self.client.delete(self.store_key(session.sid))
            session.ended = bool(session.sid) and not unsent
        finally:
            if unsent:
                session.sid = None
            session.discard()
            session.stored = False
            session.cookie_pending = False
            session.modified = False
            session.accessed = True

    def persist(self, session: StoredSession) -> bool:
        """Write the session now (NX when new, XX when existing); the response sets the cookie.

        A write that finds an existing record gone (logout or revocation won a race)
        does not recreate it: the session is marked ended and emptied, and False returned.
        """
        session.modified = False  # one attempt: a failed write is not retried by save_session
        written = self._write(session)
        if written:
            session.cookie_pending = True
        else:
            session.ended = True
            session.discard()  # not dict.clear: resolvers hold Flask's session proxy
        return written

    def save_session(self, app: Flask, session: StoredSession, response: Response) -> None:
        """Persist a modified session, then set or clear the cookie."""
        if session.accessed:
            add_vary(response, "Cookie")
        if session.modified and session:
            if not self.persist(session):
                raise SessionInterrupted()
        elif session.touch_due and session:
            self._touch(session)
        if session.cookie_pending and session:
            self._set_cookie(app, session, response)
        elif session.modified or session.ended:
            self._end(app, session, response)

    def _touch(self, session: StoredSession) -> None:
        """Push an idle session's expiry back; a refusal must not fail a read Redis answered."""
        try:
            self._write(session)  # a lost race here just means the user was logged out
        except (RedisError, RedisClusterException) as error:
            log.warning("could not push back a session's expiry: %r", error)

    def _end(self, app: Flask, session: StoredSession, response: Response) -> None:
        if session.stored and session.sid:
            self.client.delete(self.store_key(session.sid))
            session.stored = False
        if session.sid:
            self._clear_cookie(app, response)

    def _write(self, session: StoredSession) -> bool:
        now = int(time.time())
        data = session.data()
        if self.policy.idle_timeout:
            data[SEEN_AT] = now
        if session.stored and session.sid:
            ttl = self.policy.ttl(int(data.get(CREATED_AT, now)), now)
            key = self.store_key(session.sid)
            session.stored = ttl > 0 and bool(
                self.client.set(key, encode_record(data, session.sid), ex=ttl, xx=True)
            )
            return session.stored
        data[CREATED_AT] = now
        sid = self._generate_sid(self.sid_length)
        ttl = self.policy.ttl(now, now)
        session.stored = bool(
            self.client.set(self.store_key(sid), encode_record(data, sid), ex=ttl, nx=True)
        )
        session.sid = sid  # only once stored: a failed write leaves no id to send or clear
        dict.__setitem__(session, CREATED_AT, now)
        return session.stored

    def _set_cookie(self, app: Flask, session: StoredSession, response: Response) -> None:
        response.set_cookie(
            self.get_cookie_name(app),
            session.sid or "",
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )
        add_vary(response, "Cookie")

    def _clear_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(
            self.get_cookie_name(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            httponly=self.get_cookie_httponly(app),
            samesite=self.get_cookie_samesite(app),
        )
        add_vary(response, "Cookie")


def _seconds(ttl: Any) -> int | None:
    """A TTL reply as seconds left, None for a missing key or one without expiry."""
    return ttl if isinstance(ttl, int) and ttl >= 0 else None


class ServerSessions:
    """Flask extension installing the Redis session store on an app."""

    def init_app(self, app: Flask, client: redis.Redis) -> None:
        """Make the app keep its sessions (and their per-user index) in Redis via ``client``."""
        config = app.config
        policy = SessionPolicy(
            lifetime=config["SESSION_LIFETIME"],
            idle_timeout=config["SESSION_IDLE_TIMEOUT"],
            max_age=config["SESSION_MAX_AGE"],
            touch_interval=config["SESSION_TOUCH_INTERVAL"],
        )
        prefix = config["SESSION_KEY_PREFIX"]
        index = SessionIndex(client, config["SESSION_INDEX_PREFIX"], prefix, policy.lifetime)
        app.session_interface = RedisSessionStore(
            app, client, prefix, config["SESSION_ID_LENGTH"], policy=policy, index=index
        )

    @property
    def store(self) -> RedisSessionStore:
        """The current app's session store."""
        store = current_app.session_interface
        assert isinstance(store, RedisSessionStore)
        return store


def current_session() -> StoredSession:
    """The request's session object itself (not Flask's proxy to it)."""
    session = flask_session._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(session, StoredSession)
    return session
