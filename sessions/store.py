"""Server-side sessions in Redis: Flask-Session's RedisSessionInterface with safer rules.

What changes from the stock interface, and why:
- the record is read lazily, on first access, so a request that never looks at the
  session (``{ hello }`` with a cookie) costs no Redis command and survives a Redis outage;
- reads never write (the seed's ``resave: false``): one GET per logged-in read;
- a cookie that is not a well-formed id is anonymous without touching Redis;
- a request carrying the session cookie more than once is anonymous and has the cookie
  cleared: a cookie tossed in from a sibling subdomain must not choose the session;
- records are decoded as msgpack only (``sessions.record``); one that does not decode is
  deleted, never unpickled;
- new sessions are written with ``SET NX`` and existing ones with ``SET XX``, so a write
  never recreates a session that logout or revocation deleted meanwhile;
- ``regenerate`` always issues a new id, also for an empty session (no fixation).
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any, TypedDict

import redis
from flask import Flask, Request, Response
from flask_session.redis import RedisSessionInterface
from redis.exceptions import RedisClusterException, RedisError

from infra.headers import add_vary
from infra.redis_client import lean_get
from sessions.index import SessionIndex
from sessions.keys import SessionKeys, is_session_id
from sessions.policy import SessionPolicy
from sessions.record import CREATED_AT, SEEN_AT, decode_record, encode_record
from sessions.session import Lifecycle, StoredSession

log = logging.getLogger(__name__)


class CookieScope(TypedDict):
    """The session cookie's attributes besides its name, value and expiry."""

    domain: str | None
    path: str
    secure: bool
    httponly: bool
    samesite: str | None


class SessionInterrupted(Exception):
    """The session was ended (logout, revocation) while this request was changing it."""


class RedisSessionStore(RedisSessionInterface):
    """Flask-Session's Redis interface with lazy reads, safe records and race-free writes."""

    session_class = StoredSession

    def __init__(
        self,
        app: Flask,
        client: redis.Redis,
        keys: SessionKeys,
        sid_length: int,
        *,
        policy: SessionPolicy,
        index: SessionIndex,
    ) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "No valid Redis instance", RuntimeWarning)
            super().__init__(
                app,
                client=client,
                key_prefix=keys.record_prefix,
                sid_length=sid_length,
                permanent=True,
            )
        # Flask-Session 0.8 swaps any client that is not a redis.Redis (a RedisCluster) for
        # Redis() on localhost, with a warning: keep the client we were given. (Any, as the
        # attribute was before: Flask-Session is untyped.)
        self.client: Any = client
        self.keys = keys
        self.policy = policy
        self.index = index

    # -- reading ------------------------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> StoredSession:
        """Return the request's session; its record is fetched only when first used."""
        if "HTTP_COOKIE" not in request.environ:  # most API clients: skip parsing cookies
            return StoredSession()
        sids = request.cookies.getlist(self.get_cookie_name(app))
        if len(sids) > 1:  # cookie tossing: trust none of them, and clear ours
            session = StoredSession()
            session.end()
            return session
        if not sids or not is_session_id(sids[0]):
            return StoredSession()
        return StoredSession(sids[0], reader=self._read)

    def _read(self, sid: str) -> dict[str, Any]:
        return self._accept(sid, lean_get(self.client, self.keys.record(sid)))

    def load_with_ttl(self, session: StoredSession) -> int | None:
        """Load the record if not yet loaded, reading its TTL in the same round trip.

        Returns the seconds the record has left, or None when there is no live record.
        """
        if session.sid is None:
            return None
        key = self.keys.record(session.sid)
        if session.state is not Lifecycle.PENDING:  # only the TTL is left to read
            return _seconds_left(self.client.ttl(key)) if session.stored else None
        pipe = self.client.pipeline(transaction=False)
        pipe.get(key)
        pipe.ttl(key)
        raw, ttl = pipe.execute()
        session.take_record(self._accept(session.sid, raw))
        return _seconds_left(ttl) if session.stored else None

    def _accept(self, sid: str, raw: bytes | None) -> dict[str, Any]:
        """The record's data if it is valid and within its limits; else {} (and it is deleted)."""
        if raw is None:
            return {}
        data = decode_record(raw)
        if data is None:
            log.warning("deleted an undecodable session record (id %s...)", sid[:6])
        elif not self.policy.expired(data, int(time.time())):
            return data
        self.client.delete(self.keys.record(sid))
        return {}

    # -- ending and renewing ------------------------------------------------------------

    def regenerate(self, session: StoredSession) -> None:
        """Give the session a new id and delete the old record, whatever the session holds."""
        session.load()
        if session.stored and session.sid:
            self.client.delete(self.keys.record(session.sid))
        session.renew()

    def destroy(self, session: StoredSession) -> None:
        """Delete the session's record and empty it; the response clears the cookie.

        If Redis fails, the error propagates and the response neither retries the delete
        nor touches the cookie: a logout can simply be retried, and an id created in this
        request is never sent. Nor is a cookie cleared that the client never received.
        """
        session.load()
        if session.state is Lifecycle.ENDED:
            return  # nothing is left to end, and the response clears the cookie already
        sid, unsent = session.sid, session.state is Lifecycle.SAVED
        session.drop(forget_id=unsent)
        if sid:
            self.client.delete(self.keys.record(sid))
            if not unsent:
                session.end()

    def revoke(self, user_id: int, sid: str) -> None:
        """End another session of the user: its record and its index entry are deleted."""
        self.client.delete(self.keys.record(sid))
        self.index.remove(user_id, sid)

    # -- writing ------------------------------------------------------------------------

    def persist(self, session: StoredSession) -> bool:
        """Write the session now (NX when new, XX when existing); the response sets the cookie.

        A write that finds an existing record gone (logout or revocation won a race)
        does not recreate it: the session is ended and emptied, and False returned.
        """
        session.load()
        existing = session.sid if session.stored else None
        data = self._fields_to_store(session)
        session.begin_write()  # one attempt: a write that raises is not retried on save
        if existing:
            sid, stamps = self._update(existing, data), {}
        else:
            sid, stamps = self._create(data), {CREATED_AT: data[CREATED_AT]}
        if sid is None:
            session.end()
            return False
        session.saved(sid, stamps)
        return True

    def _fields_to_store(self, session: StoredSession) -> dict[str, Any]:
        data = session.data()
        if self.policy.idle_timeout:
            data[SEEN_AT] = int(time.time())
        return data

    def _update(self, sid: str, data: dict[str, Any]) -> str | None:
        """Rewrite an existing record (SET XX); its id, or None if it is gone or expired."""
        now = int(time.time())
        ttl = self.policy.ttl(int(data.get(CREATED_AT, now)), now)
        if ttl <= 0:
            return None
        written = self.client.set(self.keys.record(sid), encode_record(data, sid), ex=ttl, xx=True)
        return sid if written else None

    def _create(self, data: dict[str, Any]) -> str | None:
        """Store a new record under a new id (SET NX); the id, or None on a collision."""
        now = data[CREATED_AT] = int(time.time())
        sid = self._generate_sid(self.sid_length)
        key, record = self.keys.record(sid), encode_record(data, sid)
        written = self.client.set(key, record, ex=self.policy.ttl(now, now), nx=True)
        return sid if written else None

    def _touch(self, session: StoredSession) -> None:
        """Push an idle session's expiry back; a refusal must not fail a read Redis answered."""
        if session.sid is None:
            return
        try:
            self._update(session.sid, self._fields_to_store(session))  # gone: logged out
        except (RedisError, RedisClusterException) as error:
            log.warning("could not push back a session's expiry: %r", error)

    # -- the response -------------------------------------------------------------------

    def save_session(self, app: Flask, session: StoredSession, response: Response) -> None:
        """Do what the session's state asks: write, touch, set or clear the cookie."""
        if session.accessed:
            add_vary(response, "Cookie")
        match session.state:
            case Lifecycle.CHANGED | Lifecycle.DRAFT if session:
                if not self.persist(session):
                    raise SessionInterrupted()
                self._set_cookie(app, session, response)
            case Lifecycle.CHANGED | Lifecycle.DRAFT if session.sid:  # emptied: no session left
                if session.stored:
                    self.client.delete(self.keys.record(session.sid))
                self._clear_cookie(app, response)
            case Lifecycle.LOADED if self.policy.touch_due(session.data(), int(time.time())):
                self._touch(session)
            case Lifecycle.SAVED:
                self._set_cookie(app, session, response)
            case Lifecycle.ENDED:
                self._clear_cookie(app, response)

    def _cookie_scope(self, app: Flask) -> CookieScope:
        """Where the cookie applies and how it is guarded: the same to set and to clear it."""
        return CookieScope(
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            httponly=self.get_cookie_httponly(app),
            samesite=self.get_cookie_samesite(app),
        )

    def _set_cookie(self, app: Flask, session: StoredSession, response: Response) -> None:
        expires = self.get_expiration_time(app, session)
        name, scope = self.get_cookie_name(app), self._cookie_scope(app)
        response.set_cookie(name, session.sid or "", expires=expires, **scope)
        add_vary(response, "Cookie")

    def _clear_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(self.get_cookie_name(app), **self._cookie_scope(app))
        add_vary(response, "Cookie")


def _seconds_left(ttl_reply: Any) -> int | None:
    """A TTL reply as seconds left, None for a missing key or one without expiry."""
    return ttl_reply if isinstance(ttl_reply, int) and ttl_reply >= 0 else None
