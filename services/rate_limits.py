"""Attempt limits kept in Redis: fixed windows per account and per client IP.

Each counter is one key (``rl:<action>:<scope>:<id>``) written with single-key commands,
so it works on Redis Cluster. Counting happens per attempt in the service layer, so several
attempts aliased into one GraphQL document are counted one by one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app, has_request_context, request

from extensions import redis_client
from infra import metrics
from services.errors import RateLimited

PREFIX = "rl:"


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` per ``window`` seconds."""

    attempts: int
    window: int


def parse_limit(text: str) -> Limit:
    """Parse ``"10/900"`` (ten attempts per 900 seconds)."""
    attempts, _, window = text.partition("/")
    return Limit(int(attempts), int(window))


def client_ip() -> str:
    """The client address (as trusted proxies report it), or "-" outside a request."""
    return (request.remote_addr or "-") if has_request_context() else "-"


def _key(action: str, scope: str, value: str) -> str:
    digest = hashlib.blake2b(value.encode(), digest_size=10).hexdigest()
    return f"{PREFIX}{action}:{scope}:{digest}"


def _limit(name: str) -> Limit:
    return parse_limit(current_app.config[name])


def hit(action: str, scope: str, value: str, limit_name: str) -> None:
    """Count one attempt; raise RateLimited once the window's allowance is used up."""
    limit = _limit(limit_name)
    key = _key(action, scope, value)
    pipe = redis_client.client.pipeline(transaction=False)
    pipe.set(key, 0, ex=limit.window, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _, count, ttl = pipe.execute()
    if int(count) > limit.attempts:
        metrics.count("rate_limited", action=action)
        raise RateLimited(retry_after=max(int(ttl), 1))


def check(action: str, scope: str, value: str, limit_name: str) -> None:
    """Raise RateLimited if the allowance is used up, without counting an attempt."""
    limit = _limit(limit_name)
    key = _key(action, scope, value)
    pipe = redis_client.client.pipeline(transaction=False)
    pipe.get(key)
    pipe.ttl(key)
    count, ttl = pipe.execute()
    if count is not None and int(count) >= limit.attempts:
        metrics.count("rate_limited", action=action)
        raise RateLimited(retry_after=max(int(ttl), 1))
