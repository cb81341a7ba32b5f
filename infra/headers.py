"""Response header helpers that skip Werkzeug's parse-and-rebuild of structured headers."""

from __future__ import annotations

from flask import Response


def add_vary(response: Response, field: str) -> None:
    """Add a field to the response's Vary header unless it is there already.

    Plain string work: ``response.vary.add`` parses the header into a set and writes it
    back, ~4 µs each time, and a JSON answer adds up to three fields. Read with getlist:
    ``Headers.get`` of a missing header raises (and catches) a BadRequestKeyError.
    """
    merged = vary_with(", ".join(response.headers.getlist("Vary")), field)
    if merged is not None:
        response.headers["Vary"] = merged


def vary_with(current: str, field: str) -> str | None:
    """The Vary value ``current`` with ``field`` added; None when it names the field already."""
    if not current:
        return field
    if field.lower() in {part.strip().lower() for part in current.split(",")}:
        return None
    return f"{current}, {field}"
