"""Password-reset tokens in Redis, each bound to the password it may replace.

A token record (``forget-password:<token>``) holds the user id and a fingerprint of the
password hash current when it was issued; it works only while that hash is unchanged, so
one password change makes every older token useless, and a token can never act on an
account that merely inherited an id. A per-user set (``forget-password-user:<id>``)
lists a user's outstanding tokens so they can be deleted with the password change or the
account. Every command touches one key: Redis Cluster may keep each on any node.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from extensions import redis_extension
from models import User
from services.passwords import fingerprint

TOKEN_PREFIX = "forget-password:"
USER_TOKENS_PREFIX = "forget-password-user:"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
RECORD_PATTERN = re.compile(r"([0-9]{1,18}):([0-9a-f]{24})")


@dataclass(frozen=True)
class Claim:
    """What a consumed token was issued for: a user, and the password hash it may replace."""

    user_id: int
    fingerprint: str

    def allows(self, password_hash: str) -> bool:
        """Whether the password the token was issued against is still the current one."""
        return secrets.compare_digest(self.fingerprint, fingerprint(password_hash))


def _user_key(user_id: int) -> str:
    return f"{USER_TOKENS_PREFIX}{user_id}"


def issue(user: User | None, ttl: int) -> str:
    """Store a new single-use token for the user's current password and return it.

    For no user (an email nobody has) the same commands go in the same round trip, each
    one writing nothing, so a request cannot be told apart by what Redis had to do.
    """
    token = secrets.token_urlsafe(32)
    key, user_tokens = TOKEN_PREFIX + token, _user_key(user.id if user else 0)
    pipe = redis_extension.client.pipeline(transaction=False)
    if user is None:
        pipe.set(key, "", ex=ttl, xx=True)  # a fresh random key: XX sets nothing
        pipe.srem(user_tokens, token)
    else:
        pipe.set(key, f"{user.id}:{fingerprint(user.password_hash)}", ex=ttl)
        pipe.sadd(user_tokens, token)
    pipe.expire(user_tokens, ttl)  # no user has id 0: nothing to expire
    pipe.execute()
    return token


def consume(token: str) -> Claim | None:
    """What the token was issued for, deleting it so it works once; None if not valid."""
    if not TOKEN_PATTERN.fullmatch(token):
        return None
    raw = redis_extension.client.getdel(TOKEN_PREFIX + token)
    text = raw.decode() if isinstance(raw, bytes) else raw
    # a bare user id, as versions before binding stored, is refused like any other garbage
    match = RECORD_PATTERN.fullmatch(text) if text is not None else None
    return Claim(int(match[1]), match[2]) if match else None


def revoke_all(user_id: int) -> int:
    """Delete every outstanding token of the user; returns how many were still live."""
    client = redis_extension.client
    tokens = [
        t.decode() if isinstance(t, bytes) else t for t in client.smembers(_user_key(user_id))
    ]
    pipe = client.pipeline(transaction=False)
    for token in tokens:
        pipe.delete(TOKEN_PREFIX + token)
    pipe.delete(_user_key(user_id))
    return sum(int(n) for n in pipe.execute()[:-1])
