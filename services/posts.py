"""Posts: listing with a cursor, and changes only by their creator."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm.exc import StaleDataError

from extensions import db
from infra.database import autocommit_connection
from models import Post
from models.rows import PostSummary, from_epoch_ms, raw_datetime
from services.errors import InvalidInput, NotAuthorized
from services.validation import title_error

MAX_ID = 2**31 - 1
DEFAULT_LIMIT = 50  # as in schema.graphql
# Built once: a statement memoises its SQL cache key, so a request only binds the values
# (building and keying the select was ~15% of a `posts` request).
_COLUMNS = (
    Post.id,
    Post.title,
    Post.creator_id,
    raw_datetime(Post.created_at),
    raw_datetime(Post.updated_at),
)
_NEWEST = (
    select(*_COLUMNS).order_by(Post.created_at.desc(), Post.id.desc()).limit(bindparam("limit"))
)
_OLDER = _NEWEST.where(Post.created_at < bindparam("before"))
_INSERT = insert(Post).returning(*_COLUMNS)  # the columns' Python defaults still apply

PostRecord = Post | PostSummary  # what the Post type resolves: a loaded row or a listed one


def list_posts(limit: int | None, cursor: str | None) -> list[PostSummary]:
    """Newest first, at most the configured maximum, older than the cursor when given."""
    if limit is None:  # an explicit null in the query: the schema's default applies
        limit = DEFAULT_LIMIT
    limit = max(0, min(limit, current_app.config["POSTS_MAX_LIMIT"]))
    statement, values = _NEWEST, {"limit": limit}
    if cursor is not None:
        statement, values = _OLDER, {"limit": limit, "before": _cursor_time(cursor)}
    with autocommit_connection() as connection:
        rows = connection.execute(statement, values).all()
    return [PostSummary.from_row(row) for row in rows]


def get_post(post_id: int) -> Post | None:
    """The post with this id, or None."""
    if not 0 < post_id <= MAX_ID:
        return None
    return db.session.get(Post, post_id)


def create_post(user_id: int, title: str) -> PostSummary:
    """Create a post owned by the user."""
    _check_title(title)
    # One statement, so autocommit is atomic: one round trip where the ORM's unit of work
    # took three (BEGIN, INSERT ... RETURNING, COMMIT) and built an object to track.
    with autocommit_connection() as connection:
        row = connection.execute(_INSERT, {"title": title, "creator_id": user_id}).one()
    return PostSummary.from_row(row)


def update_post(user_id: int, post_id: int, title: str | None) -> Post | None:
    """Change a post's title; None when there is no such post."""
    post = get_post(post_id)
    if post is None:
        return None
    if post.creator_id != user_id:
        raise NotAuthorized()
    if title is not None:
        _check_title(title)
        post.title = title
        if not _commit_unless_deleted():
            return None
    return post


def delete_post(user_id: int, post_id: int) -> bool:
    """Delete the user's own post; True also when it was already gone."""
    post = get_post(post_id)
    if post is None:
        return True
    if post.creator_id != user_id:
        raise NotAuthorized()
    db.session.execute(delete(Post).where(Post.id == post_id, Post.creator_id == user_id))
    db.session.commit()
    return True


def _commit_unless_deleted() -> bool:
    """Commit an update; False when a concurrent delete removed the row first."""
    try:
        db.session.commit()
    except StaleDataError:  # the UPDATE matched no row: the post is gone, as if never found
        db.session.rollback()
        return False
    return True


def _check_title(title: str) -> None:
    error = title_error(title)
    if error:
        raise InvalidInput(error.field, error.message)


def _cursor_time(cursor: str) -> datetime:
    try:
        return from_epoch_ms(int(cursor))
    except (ValueError, OverflowError, OSError):
        raise InvalidInput("cursor", "must be the createdAt of a post") from None
