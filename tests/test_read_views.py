"""Epoch-millisecond dates: exact both ways, aware or naive (SQLite) alike."""

from __future__ import annotations

from datetime import UTC, datetime

from models.rows import epoch_ms, from_epoch_ms

# Instants where float seconds times 1000 comes out a millisecond short.
FLOAT_TRAPS = (1079337347472, 2165497250430, 2183226373411)


def test_epoch_ms_is_exact_where_float_seconds_are_not() -> None:
    for millis in FLOAT_TRAPS:
        moment = from_epoch_ms(millis)
        assert int(moment.timestamp() * 1000) == millis - 1  # the trap is real
        assert epoch_ms(moment) == millis
        assert epoch_ms(moment.replace(tzinfo=None)) == millis  # SQLite's naive UTC


def test_from_epoch_ms_round_trips() -> None:
    moment = datetime(2026, 11, 27, 5, 30, 0, 123000, tzinfo=UTC)
    assert from_epoch_ms(epoch_ms(moment)) == moment
    assert from_epoch_ms(0) == datetime(1970, 1, 1, tzinfo=UTC)
