"""Mutation fields: each translates arguments, calls a service and shapes the answer."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType

from graphql_runtime.resolvers.context import Info, context_of
from models import Post
from models.rows import PostSummary
from services import accounts, auth, password_reset, posts, user_sessions
from services.accounts import AccountResult

mutation = MutationType()


@mutation.field("register")
def resolve_register(_: Any, info: Info, options: dict[str, str]) -> AccountResult:
    """Create an account and log in."""
    session = context_of(info).session
    return accounts.register(
        session, options["username"], options["password"], options.get("email")
    )


@mutation.field("login")
def resolve_login(_: Any, info: Info, options: dict[str, str]) -> AccountResult:
    """Log in with username and password."""
    return accounts.log_in_with_password(
        context_of(info).session, options["username"], options["password"]
    )


@mutation.field("logout")
def resolve_logout(_: Any, info: Info) -> bool:
    """End the session; true also when nobody was logged in."""
    auth.log_out(context_of(info).session)
    return True


@mutation.field("createPost")
def resolve_create_post(_: Any, info: Info, title: str) -> PostSummary:
    """Create a post as the logged-in user."""
    user_id = auth.require_user_id(context_of(info).session)
    return posts.create_post(user_id, title)


@mutation.field("updatePost")
def resolve_update_post(_: Any, info: Info, id: int, title: str | None = None) -> Post | None:
    """Change the title of one's own post."""
    user_id = auth.require_user_id(context_of(info).session)
    return posts.update_post(user_id, id, title)


@mutation.field("deletePost")
def resolve_delete_post(_: Any, info: Info, id: int) -> bool:
    """Delete one's own post."""
    user_id = auth.require_user_id(context_of(info).session)
    return posts.delete_post(user_id, id)


@mutation.field("forgotPassword")
def resolve_forgot_password(_: Any, info: Info, email: str) -> bool:
    """Send a reset link when the email is known; always true."""
    return password_reset.forgot_password(email)


@mutation.field("changePassword")
def resolve_change_password(_: Any, info: Info, token: str, new_password: str) -> AccountResult:
    """Set a new password with a reset token and log in."""
    return password_reset.change_password(context_of(info).session, token, new_password)


@mutation.field("revokeSession")
def resolve_revoke_session(_: Any, info: Info, id: str) -> bool:
    """End one of the user's sessions."""
    return user_sessions.revoke_session(context_of(info).session, id)


@mutation.field("logoutAll")
def resolve_logout_all(_: Any, info: Info) -> int:
    """End every session of the user; returns how many."""
    return user_sessions.log_out_everywhere(context_of(info).session)
