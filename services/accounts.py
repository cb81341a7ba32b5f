"""Accounts: registration, credential checks and user lookup."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, cast

from redis.exceptions import RedisError
from sqlalchemy import CursorResult, bindparam, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from infra import metrics
from infra.lean_sql import LeanStatement
from models import User
from models.entities import utc_now_ms
from models.rows import UserSummary, raw_datetime
from services import auth, devices, rate_limits, reset_tokens, user_sessions
from services.passwords import hash_password, verify_password
from services.validation import (
    PASSWORD_MAX,
    FieldError,
    email_error,
    normalise_email,
    password_error,
    username_error,
    username_key,
)
from sessions.session import StoredSession

WRONG_CREDENTIALS = "incorrect username or password"
_ACCOUNT_LIMIT, _DEVICE_LIMIT = "RATE_LIMIT_LOGIN_ACCOUNT", "RATE_LIMIT_LOGIN_DEVICE"
TAKEN_USERNAME = FieldError("username", "username already taken")
# Built once: each request only binds the ids (the statement's compiled form is cached).
_USER_COLUMNS = (
    User.id,
    User.username,
    raw_datetime(User.created_at),
    raw_datetime(User.updated_at),
)
_USERS_BY_IDS = LeanStatement(
    select(*_USER_COLUMNS).where(User.id.in_(bindparam("ids", expanding=True)))
)
_PASSWORD_HASH = LeanStatement(select(User.password_hash).where(User.id == bindparam("id")))


@dataclass
class AccountResult:
    """What register and login answer: a user, or the field errors that stopped them."""

    user: User | None = None
    errors: list[FieldError] = field(default_factory=list)

    @classmethod
    def failed(cls, error: FieldError) -> AccountResult:
        """A result carrying one field error."""
        return cls(errors=[error])


def register(
    session: StoredSession, username: str, password: str, email: str | None = None
) -> AccountResult:
    """Create an account and log it in, or say which field is wrong."""
    rate_limits.hit("register", "ip", rate_limits.client_ip(), "RATE_LIMIT_REGISTER_IP")
    user = _new_user(username, password, email)
    if isinstance(user, FieldError):
        metrics.count("registration", outcome="refused")
        return AccountResult.failed(user)
    if not _insert_and_start_session(session, user):
        metrics.count("registration", outcome="refused")
        return AccountResult.failed(_taken(username, user.email) or TAKEN_USERNAME)
    metrics.count("registration", outcome="ok")
    return AccountResult(user=user)


def create_user(username: str, password: str, email: str | None = None) -> AccountResult:
    """Create an account without logging in (for operators); same rules as register."""
    user = _new_user(username, password, email)
    if isinstance(user, FieldError):
        return AccountResult.failed(user)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return AccountResult.failed(_taken(username, user.email) or TAKEN_USERNAME)
    return AccountResult(user=user)


@dataclass(frozen=True)
class Deletion:
    """What deleting an account ended besides the row: sessions and reset tokens."""

    sessions: int
    reset_tokens: int


def delete_user(user: User) -> Deletion:
    """Delete an account and its posts, ending its sessions and reset tokens first."""
    deletion = Deletion(user_sessions.end_all_sessions(user.id), reset_tokens.revoke_all(user.id))
    db.session.delete(user)
    db.session.commit()
    return deletion


def find_by_username(username: str) -> User | None:
    """The user with this username (compared without regard to case), or None."""
    return db.session.scalar(select(User).where(User.username_key == username_key(username)))


def log_in_with_password(session: StoredSession, username: str, password: str) -> AccountResult:
    """Check a username and password, then start a session; wrong ones look alike.

    Failures count against this device's own budget when it logged in to the account
    before, else against the budget all other clients share (services/devices.py).
    """
    account = username_key(username)
    device = devices.trusted_device(account)
    budget = ("device", device, _DEVICE_LIMIT) if device else ("account", account, _ACCOUNT_LIMIT)
    if device is None:
        rate_limits.hit("login", "ip", rate_limits.client_ip(), "RATE_LIMIT_LOGIN_IP")
    rate_limits.check("login", *budget)
    user = find_by_username(username) if username_error(username) is None else None
    stored_hash = user.password_hash if user else None
    if len(password) > PASSWORD_MAX or not verify_password(stored_hash, password) or user is None:
        metrics.count("login", outcome="failed")
        rate_limits.hit("login", *budget)
        return AccountResult.failed(FieldError("password", WRONG_CREDENTIALS))
    auth.start_session(session, user)
    if _current_password_hash(user.id) != stored_hash:
        # changePassword committed after the check above and may have ended the user's
        # sessions before this one was stored: the old password must not keep it.
        auth.log_out(session)
        metrics.count("login", outcome="failed")
        return AccountResult.failed(FieldError("password", WRONG_CREDENTIALS))
    devices.trust(account, device)
    metrics.count("login", outcome="ok")
    return AccountResult(user=user)


def _current_password_hash(user_id: int) -> str | None:
    """The committed password hash now, read outside the request's transaction.

    Read after the session (and its index entry) is stored: a password change commits
    before it ends sessions, so either it finds this session in the index or this read
    sees its new hash.
    """
    rows = _PASSWORD_HASH.all({"id": user_id})
    return str(rows[0][0]) if rows else None


def replace_password(user: User, password: str) -> bool:
    """Store a new password hash, only if the loaded one is still current; True if so."""
    new_hash, now = hash_password(password), utc_now_ms()
    changed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == user.password_hash)
        .values(password_hash=new_hash, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    if not cast(CursorResult[Any], changed).rowcount:
        return False
    set_committed_value(user, "password_hash", new_hash)
    set_committed_value(user, "updated_at", now)
    return True


def find_by_email(email: str) -> User | None:
    """The user with this email (compared case-insensitively), or None."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


UserRecord = User | UserSummary  # what the User type resolves: a loaded row or a summary


def current_user(session: StoredSession) -> UserRecord | None:
    """The logged-in user: from the session's snapshot, else from the database."""
    user_id = auth.current_user_id(session)
    if user_id is None:
        return None
    return auth.snapshot(session) or get_user(user_id)


def get_user(user_id: int) -> User | None:
    """The user with this id, from the identity map when already loaded."""
    return db.session.get(User, user_id)


def users_by_ids(user_ids: Iterable[int]) -> dict[int, UserSummary]:
    """Users' public fields keyed by id, fetched in one query."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = _USERS_BY_IDS.all({"ids": list(wanted)})
    return {row[0]: UserSummary.from_row(row) for row in rows}


def _new_user(username: str, password: str, email: str | None) -> User | FieldError:
    """A validated, hashed, not yet saved user; or the first field error."""
    email = normalise_email(email) if email else None
    error = username_error(username) or password_error(password) or _email_error(email)
    error = error or _taken(username, email)
    if error:
        return error
    user = User(username=username, username_key=username_key(username), email=email)
    user.password_hash = hash_password(password)
    return user


def _email_error(email: str | None) -> FieldError | None:
    return email_error(email) if email is not None else None


def _taken(username: str, email: str | None) -> FieldError | None:
    if find_by_username(username) is not None:
        return TAKEN_USERNAME
    if email is not None and find_by_email(email) is not None:
        return FieldError("email", "email already taken")
    return None


def _insert_and_start_session(session: StoredSession, user: User) -> bool:
    """Insert the user and log in, all or nothing; False when the name was taken meanwhile.

    The row is flushed (for its id), the session stored, and only then committed, so a
    Redis failure leaves no account behind and a failed commit leaves no session.
    """
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    try:
        auth.start_session(session, user)
        db.session.commit()
    except (RedisError, SQLAlchemyError):
        db.session.rollback()
        _forget_session(session)
        raise
    return True


def _forget_session(session: StoredSession) -> None:
    """Best effort: remove a session stored for a registration that did not commit."""
    with suppress(RedisError):
        auth.log_out(session)
