"""Password reset, as the seed's later API has it: forgotPassword, then changePassword."""

from __future__ import annotations

from flask import current_app

from infra.mail import send_mail
from services import accounts, auth, devices, rate_limits, reset_tokens, user_sessions
from services.accounts import AccountResult
from services.validation import FieldError, email_error, normalise_email, password_error
from sessions.session import StoredSession

BAD_TOKEN = FieldError("token", "token expired or already used")


def forgot_password(email: str) -> bool:
    """Mail a single-use reset link for a known email; always True, so nothing leaks."""
    rate_limits.hit("reset", "ip", rate_limits.client_ip(), "RATE_LIMIT_RESET_IP")
    if email_error(email.strip()):
        return True
    rate_limits.hit("reset", "account", normalise_email(email), "RATE_LIMIT_RESET_ACCOUNT")
    user = accounts.find_by_email(email)
    recipient = user if user is not None and user.email else None
    # the same work either way (one lookup, one Redis round trip); only a known email
    # queues a mail, which is sent in the background, so the answer cannot tell
    token = reset_tokens.issue(recipient, current_app.config["RESET_TOKEN_TTL"])
    if recipient is not None and recipient.email:
        link = f"{current_app.config['APP_URL']}/change-password/{token}"
        send_mail(recipient.email, "Reset your password", f"Set a new password here: {link}\n")
    return True


def change_password(session: StoredSession, token: str, new_password: str) -> AccountResult:
    """Set a new password with a reset token, end every session of the user, log in afresh.

    The token works only while the password it was issued against is unchanged, and the
    change itself succeeds only from that password: of two tokens racing, one wins.
    """
    rate_limits.hit("change", "ip", rate_limits.client_ip(), "RATE_LIMIT_CHANGE_PASSWORD_IP")
    error = password_error(new_password, field="newPassword")
    if error:
        return AccountResult.failed(error)
    claim = reset_tokens.consume(token)
    user = accounts.get_user(claim.user_id) if claim is not None else None
    if user is None or claim is None or not claim.allows(user.password_hash):
        return AccountResult.failed(BAD_TOKEN)
    if not accounts.replace_password(user, new_password):
        return AccountResult.failed(BAD_TOKEN)
    reset_tokens.revoke_all(user.id)
    user_sessions.end_all_sessions(user.id)
    auth.start_session(session, user)
    devices.trust(user.username_key)  # proved the mailbox: its budget is the owner's own
    return AccountResult(user=user)
