"""Input rules shared by every interface."""

from __future__ import annotations

import re
from dataclasses import dataclass

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{3,40}")
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
TITLE_MAX = 1000
EMAIL_MAX = 254
EMAIL_PATTERN = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class FieldError:
    """A mistake in one input field, returned to the user as data."""

    field: str
    message: str


def username_error(username: str) -> FieldError | None:
    """Why a username is unacceptable, or None."""
    if len(username) < 3:
        return FieldError("username", "length must be at least 3")
    if len(username) > 40:
        return FieldError("username", "length must be at most 40")
    if not USERNAME_PATTERN.fullmatch(username):
        return FieldError("username", "use only letters, digits, '_', '-' and '.'")
    return None


def password_error(password: str, field: str = "password") -> FieldError | None:
    """Why a password is unacceptable, or None; checked before any hashing."""
    if len(password) < PASSWORD_MIN:
        return FieldError(field, f"length must be at least {PASSWORD_MIN}")
    if len(password) > PASSWORD_MAX:
        return FieldError(field, f"length must be at most {PASSWORD_MAX}")
    if _FORBIDDEN_CHARS.search(password):
        return FieldError(field, "contains characters that are not allowed")
    return None


def title_error(title: str) -> FieldError | None:
    """Why a post title is unacceptable, or None."""
    if not title.strip():
        return FieldError("title", "must not be empty")
    if len(title) > TITLE_MAX:
        return FieldError("title", f"length must be at most {TITLE_MAX}")
    if _FORBIDDEN_CHARS.search(title):
        return FieldError("title", "contains control characters or invalid text")
    return None


def normalise_email(email: str) -> str:
    """The stored form of an email address."""
    return email.strip().lower()


def email_error(email: str) -> FieldError | None:
    """Why an email address is unacceptable, or None."""
    if len(email) > EMAIL_MAX or not EMAIL_PATTERN.fullmatch(email):
        return FieldError("email", "not a valid email address")
    return None


def username_key(username: str) -> str:
    """The form of a username that uniqueness is checked on."""
    return username.lower()
