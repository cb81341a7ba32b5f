"""The Flask extension that keeps an app's sessions in Redis, and the request's session."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask import session as flask_session

from sessions.index import SessionIndex
from sessions.keys import SessionKeys
from sessions.policy import SessionPolicy
from sessions.session import StoredSession
from sessions.store import RedisSessionStore


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
        keys = SessionKeys(config["SESSION_KEY_PREFIX"], config["SESSION_INDEX_PREFIX"])
        index = SessionIndex(client, keys, policy.lifetime)
        app.session_interface = RedisSessionStore(
            app, client, keys, config["SESSION_ID_LENGTH"], policy=policy, index=index
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
