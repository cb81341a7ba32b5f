"""Trusted devices (OWASP's "device cookies"): a lockout attackers cannot hand the owner.

A client that logged in to an account with its password gets a signed cookie naming that
account (as a digest) and a random device id. Its later logins to that account draw on the
device's own failure budget; every other client shares the account's budget for unknown
clients. Strangers' wrong guesses therefore stay bounded per account, wherever they come
from, while the owner's known devices still get in. An owner on a new device during an
attack can use the password reset, which trusts the device it completes on.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import Response, after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "trusted-device"
MAX_AGE = 365 * 24 * 3600
COOKIE_MAX_LENGTH = 200


def cookie_name() -> str:
    """The device cookie's name: the session cookie's (``__Host-`` prefix included) + "-device"."""
    return f"{current_app.config['SESSION_COOKIE_NAME']}-device"


def _serializer() -> URLSafeSerializer:
    config = current_app.config
    return URLSafeSerializer([*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]], salt=SALT)


def _tag(account: str) -> str:
    return hashlib.blake2b(account.encode(), digest_size=9).hexdigest()


def trusted_device(account: str) -> str | None:
    """The id of this client's device if its cookie is valid for ``account``, else None."""
    raw = request.cookies.get(cookie_name(), "")
    if not raw or len(raw) > COOKIE_MAX_LENGTH:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    valid = isinstance(data, list) and len(data) == 2 and all(isinstance(v, str) for v in data)
    return data[1] if valid and data[0] == _tag(account) else None


def trust(account: str, device: str | None = None) -> None:
    """Have this response give the client a device cookie for ``account`` (renewed if known)."""
    value = _serializer().dumps([_tag(account), device or secrets.token_urlsafe(16)])
    config = current_app.config

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            cookie_name(),
            value,
            max_age=MAX_AGE,
            path="/",
            secure=config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        return response
