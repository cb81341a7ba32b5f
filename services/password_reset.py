"""Password reset, as the seed's later API has it: forgotPassword, then changePassword."""

from __future__ import annotations

import re
import secrets

from flask import current_app

from extensions import redis_client
from infra.mail import send_mail
from services import accounts, auth, rate_limits, user_sessions
from services.accounts import AccountResult
from services.validation import FieldError, email_error, normalise_email, password_error
from sessions.store import StoredSession

TOKEN_PREFIX = "forget-password:"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
BAD_TOKEN = FieldError("token", "token expired or already used")


def forgot_password(email: str) -> bool:
    """Mail a single-use reset link for a known email; always True, so nothing leaks."""
    rate_limits.hit("reset", "ip", rate_limits.client_ip(), "RATE_LIMIT_RESET_IP")
    if email_error(email.strip()):
        return True
    rate_limits.hit("reset", "account", normalise_email(email), "RATE_LIMIT_RESET_ACCOUNT")
    user = accounts.find_by_email(email)
    if user is not None and user.email:
        token = secrets.token_urlsafe(32)
        ttl = current_app.config["RESET_TOKEN_TTL"]
        redis_client.client.set(TOKEN_PREFIX + token, user.id, ex=ttl)
        link = f"{current_app.config['APP_URL']}/change-password/{token}"
        send_mail(user.email, "Reset your password", f"Set a new password here: {link}\n")
    return True


def change_password(session: StoredSession, token: str, new_password: str) -> AccountResult:
    """Set a new password with a reset token, end every session of the user, log in afresh."""
    rate_limits.hit("change", "ip", rate_limits.client_ip(), "RATE_LIMIT_CHANGE_PASSWORD_IP")
    error = password_error(new_password, field="newPassword")
    if error:
        return AccountResult.failed(error)
    user_id = _consume(token)
    user = accounts.get_user(user_id) if user_id is not None else None
    if user is None:
        return AccountResult.failed(BAD_TOKEN)
    accounts.set_password(user, new_password)
    user_sessions.end_all_sessions(user.id)
    auth.start_session(session, user)
    return AccountResult(user=user)


def _consume(token: str) -> int | None:
    """The user id a token was issued for, deleting it so it works once."""
    if not TOKEN_PATTERN.fullmatch(token):
        return None
    raw = redis_client.client.getdel(TOKEN_PREFIX + token)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
