"""Hot statements compiled once per dialect and run on the pool's DBAPI connection, as tuples.

``Connection.execute`` of a cached Core statement still builds an execution context, a
cursor result and a Row per row, and sets up and resets the connection's autocommit
characteristics: on a 20-post listing that came to ~4x the driver's own time. A
:class:`LeanStatement` keeps what does not change between requests (the SQL string, the
order of its parameters, the bind and result processors of each dialect) and per call only
checks a connection out of the same pool (its checkout events, the dead-connection check,
its timeout), binds, executes in autocommit and returns plain tuples.

Autocommit, outside the request's ORM transaction: a SELECT (or one INSERT ... RETURNING,
atomic by itself) is one round trip, where the ORM session's would be three on PostgreSQL
(BEGIN, the statement, and the ROLLBACK or COMMIT). A request may hold this and its
session's connection at once, briefly: the pool (10 on PostgreSQL) stays larger than
gunicorn's threads (8). The connection goes back to the pool in its own isolation level.

Errors are SQLAlchemy's, as from ``Connection.execute``: a driver error is wrapped with
``DBAPIError.instance`` (an outage is an ``OperationalError``) and a connection the
dialect calls disconnected is invalidated, so the pool replaces it. When the engine has
cursor-execute listeners (tracing, or a test's fault injection), statements go through
``Connection.execute`` instead, so those listeners keep seeing every statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from infra.database import current_engine

Values = Mapping[str, Any]
Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Bound:
    """A statement's SQL and parameters for one call, as the driver takes them."""

    sql: str
    parameters: Sequence[Any] | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement compiled for one dialect."""

    compiler: SQLCompiler
    fixed_sql: str | None  # None when expanding parameters (IN lists) shape the SQL per call
    positions: Sequence[str] | None  # parameter order for positional paramstyles
    binders: Mapping[str, Processor]
    constants: Mapping[str, Any]  # values the statement itself carries (e.g. SQLite's OFFSET 0)
    readers: tuple[Processor | None, ...] | None  # None when every column reads as it comes

    def bind(self, values: Values) -> _Bound:
        """The SQL and the processed parameters for these values."""
        if self.fixed_sql is None:
            state = self.compiler.construct_expanded_state(values)
            binders = {**self.binders, **state.processors}  # and those of the expanded names
            return _bind(state.statement, state.parameters, binders, state.positiontup)
        return _bind(self.fixed_sql, {**self.constants, **values}, self.binders, self.positions)

    def read(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        """The driver's rows with the dialect's result conversions applied."""
        readers = self.readers
        if readers is None:
            return rows
        return [
            tuple(v if f is None else f(v) for f, v in zip(readers, r, strict=True)) for r in rows
        ]


def _bind(
    sql: str,
    values: Values,
    binders: Mapping[str, Processor],
    positions: Sequence[str] | None,
) -> _Bound:
    """Apply the bind processors and order the parameters as the paramstyle wants."""
    processed = {k: (binders[k](v) if k in binders else v) for k, v in values.items()}
    if positions is None:
        return _Bound(sql, processed)
    return _Bound(sql, tuple(processed[name] for name in positions))


class LeanStatement:
    """A Core statement, compiled once per dialect, run without Core's per-call work."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        """This statement compiled for ``dialect``, once."""
        key = (dialect.name, dialect.driver)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(self.statement, dialect)
        return found

    def all(self, values: Values) -> list[tuple[Any, ...]]:
        """Every row, in autocommit (a SELECT, or one statement that writes and returns)."""
        engine = current_engine()
        if _listened(engine):
            with engine.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                return [tuple(row) for row in autocommit.execute(self.statement, values)]
        compiled = self.compiled(engine.dialect)
        return compiled.read(_run(engine, compiled.bind(values)))


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    """The compiled form; its SQL and parameter layout kept when no call can change them."""
    compiler = cast(ClauseElement, statement).compile(dialect=dialect)
    assert isinstance(compiler, SQLCompiler)
    per_call = bool(compiler.post_compile_params or compiler.literal_execute_params)
    per_call = per_call or bool(compiler.escaped_bind_names)  # names unlike the caller's keys
    required = {bind.key: None for bind in compiler.binds.values() if bind.required}
    state = None if per_call else compiler.construct_expanded_state(required, escape_names=False)
    readers = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in statement.exported_columns  # type: ignore[attr-defined]
    )
    return _Compiled(
        compiler=compiler,
        fixed_sql=None if state is None else state.statement,
        positions=None if state is None else state.positiontup,
        binders=_binders(compiler, dialect),
        constants={} if state is None else _without(state.parameters, required),
        readers=None if all(r is None for r in readers) else readers,
    )


def _binders(compiler: SQLCompiler, dialect: Dialect) -> dict[str, Processor]:
    """The bind processor of each parameter that has one, by its name in the SQL."""
    escaped = compiler.escaped_bind_names
    found: dict[str, Processor] = {}
    for bind, name in compiler.bind_names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            found[escaped.get(name, name)] = processor
    return found


def _without(parameters: Mapping[str, Any], names: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters not named in ``names``."""
    return {k: v for k, v in parameters.items() if k not in names}


def _listened(engine: Engine) -> bool:
    """Whether anything listens to the engine's cursor executions (tracing, tests)."""
    dispatch = engine.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def _run(engine: Engine, bound: _Bound) -> list[Any]:
    """Execute on a pooled DBAPI connection in autocommit; the driver's rows."""
    dialect = engine.dialect
    try:
        pooled = engine.raw_connection()  # the pool's checkout, its events and its timeout
    except dialect.loaded_dbapi.Error as error:  # no connection to be had
        raise _wrapped(dialect, error, None, None) from error
    try:
        return _execute(dialect, pooled, bound)
    finally:
        pooled.close()


def _execute(dialect: Dialect, pooled: PoolProxiedConnection, bound: _Bound) -> list[Any]:
    """One statement in autocommit, the connection's own isolation level restored after."""
    connection = pooled.dbapi_connection
    assert connection is not None
    cursor = None
    try:
        dialect.set_isolation_level(connection, "AUTOCOMMIT")
        cursor = pooled.cursor()
        cursor.execute(bound.sql, bound.parameters)
        rows = list(cursor.fetchall())
        cursor.close()
    except dialect.loaded_dbapi.Error as error:
        raise _wrapped(dialect, error, bound, pooled, cursor) from error
    finally:
        _restore(dialect, pooled, connection)
    return rows


def _restore(dialect: Dialect, pooled: PoolProxiedConnection, connection: Any) -> None:
    """Back to the pool's isolation level; a connection that cannot be reset is discarded."""
    if pooled.is_valid:
        try:
            dialect.reset_isolation_level(connection)
        except dialect.loaded_dbapi.Error as error:
            pooled.invalidate(error)


def _wrapped(
    dialect: Dialect,
    error: Any,
    bound: _Bound | None,
    pooled: PoolProxiedConnection | None = None,
    cursor: Any = None,
) -> DBAPIError:
    """The driver's error as Core raises it; a lost connection is invalidated first."""
    connection = pooled.dbapi_connection if pooled is not None else None
    lost = dialect.is_disconnect(error, connection, cursor)
    if lost and pooled is not None:
        pooled.invalidate(error)
    wrapped = DBAPIError.instance(
        bound.sql if bound else None, bound.parameters if bound else None, error,
        dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect,
    )  # fmt: skip
    assert isinstance(wrapped, DBAPIError)  # a driver error always maps to one
    return wrapped
