"""Mutation fields: each translates arguments, calls a service and shapes the answer."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType

from models import Post
from resolvers.context import Info, context_of
from services import accounts, auth, posts
from services.accounts import AccountResult

mutation = MutationType()


@mutation.field("register")
def resolve_register(_: Any, info: Info, options: dict[str, str]) -> AccountResult:
    """Create an account and log in."""
    return accounts.register(context_of(info).session, options["username"], options["password"])


@mutation.field("login")
def resolve_login(_: Any, info: Info, options: dict[str, str]) -> AccountResult:
    """Log in with username and password."""
    return accounts.login(context_of(info).session, options["username"], options["password"])


@mutation.field("logout")
def resolve_logout(_: Any, info: Info) -> bool:
    """End the session; true also when nobody was logged in."""
    auth.log_out(context_of(info).session)
    return True


@mutation.field("createPost")
def resolve_create_post(_: Any, info: Info, title: str) -> Post:
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
