"""Extensions, created unbound and attached to the app in create_app (the data layer)."""

from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from infra.redis_client import RedisExtension
from sessions.extension import ServerSessions

# Deterministic constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for the models."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects a mutation returns are read after its commit; expiring them would cost a SELECT per
# object and fail (ObjectDeletedError) when a concurrent request deleted the row meanwhile.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
redis_extension = RedisExtension()
server_sessions = ServerSessions()
