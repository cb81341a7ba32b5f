"""Data: the ORM tables and the plain rows listings read."""

from models.entities import Post, User

__all__ = ["Post", "User"]
