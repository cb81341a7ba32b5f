"""Server-side sessions in Redis: Flask-Session's RedisSessionInterface with safer rules.

What changes from the stock interface, and why:
- the record is read lazily, on first access, so a request that never looks at the
  session (``{ hello }`` with a cookie) costs no Redis command and survives a Redis outage;
- reads never write (the seed's ``resave: false``): one GET per logged-in read;
- a cookie that is not a well-formed id is anonymous without touching Redis;
- records are decoded as msgpack only; one that does not decode is deleted, never unpickled;
- new sessions are written with ``SET NX`` and existing ones with ``SET XX``, so a write
  never recreates a session that logout or revocation deleted meanwhile;
- ``regenerate`` always issues a new id, also for an empty session (no fixation).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import redis
from flask import Flask, Request, Response
from flask_session.redis import RedisSession, RedisSessionInterface

log = logging.getLogger(__name__)

SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
_decoder = msgspec.msgpack.Decoder(dict[str, Any])
_encoder = msgspec.msgpack.Encoder()


def decode_record(raw: bytes) -> dict[str, Any] | None:
    """Decode a stored session record, or None if it is not a msgpack map."""
    try:
        return _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def encode_record(data: dict[str, Any]) -> bytes:
    """Encode session data for storage."""
    return _encoder.encode(data)


class StoredSession(RedisSession):
    """A session whose record is fetched from Redis the first time it is used."""

    permanent = True  # every session lives for SESSION_LIFETIME, as in the seed

    def __init__(self, sid: str | None = None, loader: Callable[[], dict[str, Any]] | None = None):
        super().__init__(None, sid=sid)
        self._loader = loader
        self.stored = False  # True once a record for ``sid`` is known to exist in Redis
        self.ended = False  # True when a write found the record gone (logout won the race)
        self.cookie_pending = False  # True once persisted under an id the client lacks

    def _load(self) -> None:
        if self._loader is not None:
            loader, self._loader = self._loader, None
            data = loader()
            self.stored = bool(data)
            dict.update(self, data)

    @property
    def loaded(self) -> bool:
        """Whether the record has been read (or there was none to read)."""
        return self._loader is None

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

    def data(self) -> dict[str, Any]:
        """A plain copy of the contents."""
        self._load()
        return dict(dict.items(self))


class RedisSessionStore(RedisSessionInterface):
    """Flask-Session's Redis interface with lazy reads, safe records and race-free writes."""

    session_class = StoredSession

    def __init__(self, app: Flask, client: redis.Redis, key_prefix: str, sid_length: int):
        super().__init__(
            app, client=client, key_prefix=key_prefix, sid_length=sid_length, permanent=True
        )

    def store_key(self, sid: str) -> str:
        """The Redis key holding the session ``sid``."""
        return self.key_prefix + sid

    def open_session(self, app: Flask, request: Request) -> StoredSession:
        """Return the request's session; its record is fetched only when first used."""
        sid = request.cookies.get(self.get_cookie_name(app))
        if not sid or not SID_PATTERN.fullmatch(sid):
            return self.session_class()
        return self.session_class(sid=sid, loader=lambda: self._fetch(sid))

    def _fetch(self, sid: str) -> dict[str, Any]:
        key = self.store_key(sid)
        raw = self.client.get(key)
        if raw is None:
            return {}
        data = decode_record(raw)
        if data is None:
            log.warning("deleted an undecodable session record %s", key[: len(self.key_prefix) + 6])
            self.client.delete(key)
            return {}
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
        """Delete the session's record and empty it; the response clears the cookie."""
        session.clear()
        if session.sid:
            self.client.delete(self.store_key(session.sid))
        session.stored = False
        session.cookie_pending = False
        session.ended = bool(session.sid)
        session.modified = False

    def persist(self, session: StoredSession) -> None:
        """Write the session now (NX when new, XX when existing); the response sets the cookie.

        A write that finds an existing record gone (logout or revocation won a race)
        does not recreate it: the session is marked ended and emptied.
        """
        app = self.app
        if self._write(app, session):
            session.cookie_pending = True
        else:
            session.ended = True
            dict.clear(session)
        session.modified = False

    def save_session(self, app: Flask, session: StoredSession, response: Response) -> None:
        """Persist a modified session, then set or clear the cookie."""
        if session.accessed:
            response.vary.add("Cookie")
        if session.modified and session:
            self.persist(session)
        if session.cookie_pending and session:
            self._set_cookie(app, session, response)
        elif session.modified or session.ended:
            self._end(app, session, response)

    def _end(self, app: Flask, session: StoredSession, response: Response) -> None:
        if session.stored and session.sid:
            self.client.delete(self.store_key(session.sid))
            session.stored = False
        if session.sid:
            self._clear_cookie(app, response)

    def _write(self, app: Flask, session: StoredSession) -> bool:
        ttl = int(app.permanent_session_lifetime.total_seconds())
        value = encode_record(session.data())
        if session.stored and session.sid:
            key = self.store_key(session.sid)
            session.stored = bool(self.client.set(key, value, ex=ttl, xx=True))
            return session.stored
        session.sid = self._generate_sid(self.sid_length)
        session.stored = bool(self.client.set(self.store_key(session.sid), value, ex=ttl, nx=True))
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
        response.vary.add("Cookie")

    def _clear_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(
            self.get_cookie_name(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            httponly=self.get_cookie_httponly(app),
            samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")


class ServerSessions:
    """Flask extension installing the Redis session store on an app."""

    def init_app(self, app: Flask, client: redis.Redis) -> None:
        """Make the app keep its sessions in Redis through ``client``."""
        app.session_interface = RedisSessionStore(
            app, client, app.config["SESSION_KEY_PREFIX"], app.config["SESSION_ID_LENGTH"]
        )
