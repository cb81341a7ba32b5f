"""Database models: they hold data; the rules live in services/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.rows import epoch_ms


def utc_now_ms() -> datetime:
    """The current UTC time, truncated to the millisecond the API exposes."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _same_as_created(context: Any) -> Any:
    """A new row's updatedAt is its createdAt, to the millisecond."""
    return context.get_current_parameters()["created_at"]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store in UTC, without zone on backends that keep none."""
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Read back as an aware UTC datetime."""
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stamp() -> datetime:
    # utc_now_ms looked up when a row is stamped, not when the model is defined: a test
    # that pins the clock (tests/mutation_state.py) replaces it here and in the services.
    return utc_now_ms()


class TimestampMixin:
    """createdAt / updatedAt columns, as on the seed's entities."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_stamp)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=_same_as_created, onupdate=_stamp
    )

    @property
    def created_at_ms(self) -> int:
        """Creation time in epoch milliseconds."""
        return epoch_ms(self.created_at)

    @property
    def updated_at_ms(self) -> int:
        """Last change in epoch milliseconds."""
        return epoch_ms(self.updated_at)


class User(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """An account; usernames are unique without regard to case."""

    __tablename__ = "user"
    # SQLite reuses the highest deleted rowid without AUTOINCREMENT; ids outlive rows in
    # Redis (sessions, reset tokens), so an id must never name a second account.
    __table_args__: ClassVar[dict[str, bool]] = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    username_key: Mapped[str] = mapped_column(String(40), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)

    posts: Mapped[list[Post]] = relationship(back_populates="creator", passive_deletes=True)


class Post(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A post, owned by the user who created it."""

    __tablename__ = "post"
    __table_args__ = (Index("ix_post_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    creator_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)

    creator: Mapped[User] = relationship(back_populates="posts")
