"""Attempt limits kept in Redis: fixed windows per account, device and client IP.

Each counter is one key (``rl:<action>:<scope>:<id>``) changed only by a Lua script that
touches that key alone: atomic on one server, and a single-key EVAL on Sentinel and
Cluster. A counter therefore never exists without its expiry (a separate INCR could
recreate a key that expired a moment before, without one, refusing that client for ever).
Counting happens per attempt in the service layer, so several attempts aliased into one
GraphQL document are counted one by one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app, has_request_context, request

from config import parse_rate_limit
from extensions import redis_extension
from services.errors import RateLimited

PREFIX = "rl:"
# The tail both scripts share: a counter found without an expiry (one left by older
# versions) gets one, so no counter can outlive its window.
_WITH_EXPIRY = b"""
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""
_HIT = b"local count = redis.call('INCR', KEYS[1])" + _WITH_EXPIRY  # count one attempt
_PEEK = (  # read without counting
    b"local count = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    b"if count == 0 then return {0, 0} end" + _WITH_EXPIRY
)


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` per ``window`` seconds."""

    attempts: int
    window: int


def parse_limit(text: str) -> Limit:
    """Parse ``"10/900"`` (ten attempts per 900 seconds)."""
    return Limit(*parse_rate_limit(text))


def client_ip() -> str:
    """The client address (as trusted proxies report it), or "-" outside a request."""
    return (request.remote_addr or "-") if has_request_context() else "-"


def counter_key(action: str, scope: str, value: str) -> str:
    """The Redis key counting ``action`` attempts for one account, device or address."""
    digest = hashlib.blake2b(value.encode(), digest_size=10).hexdigest()
    return f"{PREFIX}{action}:{scope}:{digest}"


def _run(script: bytes, key: str, limit: Limit) -> tuple[int, int]:
    """Run a counter script on one key; returns (count, seconds left in the window)."""
    count, ttl = redis_extension.client.register_script(script)(keys=[key], args=[limit.window])
    return int(count), int(ttl)


def hit(action: str, scope: str, value: str, limit_name: str) -> None:
    """Count one attempt; raise RateLimited once the window's allowance is used up."""
    limit = parse_limit(current_app.config[limit_name])
    count, ttl = _run(_HIT, counter_key(action, scope, value), limit)
    if count > limit.attempts:
        raise RateLimited(retry_after=max(ttl, 1))


def check(action: str, scope: str, value: str, limit_name: str) -> None:
    """Raise RateLimited if the allowance is used up, without counting an attempt."""
    limit = parse_limit(current_app.config[limit_name])
    count, ttl = _run(_PEEK, counter_key(action, scope, value), limit)
    if count >= limit.attempts:
        raise RateLimited(retry_after=max(ttl, 1))
