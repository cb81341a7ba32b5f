"""Proof that a request did (or did not) reach the resolvers: count the SQL it sent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event, text

from config import Config
from extensions import db

# Allowances that tests of other behaviour never reach (rate limits have their own tests):
# one test client is one IP, and these tests register and log in far more than people do.
GENEROUS_RATE_LIMITS = {
    name: "1000000/60" for name in vars(Config) if name.startswith("RATE_LIMIT_")
}


@contextmanager
def count_sql(app: Flask) -> Iterator[list[str]]:
    """Collect every SQL statement the app's engine executes inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def table_count(app: Flask, table: str) -> int:
    """How many rows a table holds right now."""
    with app.app_context():
        return int(db.session.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
