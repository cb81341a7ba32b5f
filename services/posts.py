"""Posts: listing with a cursor, and changes only by their creator."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm.exc import StaleDataError

from extensions import db
from infra.lean_sql import LeanStatement
from models import Post
from models.entities import utc_now_ms
from models.rows import PostSummary, from_epoch_ms, raw_datetime
from services.errors import InvalidInput, NotAuthorized
from services.validation import title_error

MAX_ID = 2**31 - 1
DEFAULT_LIMIT = 50  # as in schema.graphql
# Built and compiled once per dialect (infra/lean_sql.py): a request only binds the values
# and reads the driver's tuples.
_COLUMNS = (
    Post.id,
    Post.title,
    Post.creator_id,
    raw_datetime(Post.created_at),
    raw_datetime(Post.updated_at),
)
_NEWEST_SELECT = (
    select(*_COLUMNS).order_by(Post.created_at.desc(), Post.id.desc()).limit(bindparam("limit"))
)
_NEWEST = LeanStatement(_NEWEST_SELECT)
_OLDER = LeanStatement(_NEWEST_SELECT.where(Post.created_at < bindparam("before")))
# The model's Python defaults, given explicitly (the lean path runs no default functions):
# a new post's updatedAt is its createdAt, as TimestampMixin's default says.
_INSERT = LeanStatement(
    insert(Post)
    .values(
        title=bindparam("title"),
        creator_id=bindparam("creator_id"),
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(*_COLUMNS)
)

PostRecord = Post | PostSummary  # what the Post type resolves: a loaded row or a listed one


def list_posts(limit: int | None, cursor: str | None) -> list[PostSummary]:
    """Newest first, at most the configured maximum, older than the cursor when given."""
    if limit is None:  # an explicit null in the query: the schema's default applies
        limit = DEFAULT_LIMIT
    limit = max(0, min(limit, current_app.config["POSTS_MAX_LIMIT"]))
    statement, values = _NEWEST, {"limit": limit}
    if cursor is not None:
        statement, values = _OLDER, {"limit": limit, "before": _cursor_time(cursor)}
    return [PostSummary.from_row(row) for row in statement.all(values)]


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
    [row] = _INSERT.all({"title": title, "creator_id": user_id, "now": utc_now_ms()})
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
