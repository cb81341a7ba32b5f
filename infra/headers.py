"""Response header helpers that skip Werkzeug's parse-and-rebuild of structured headers."""

from __future__ import annotations

from flask import Response


def add_vary(response: Response, field: str) -> None:
    """Add a field to the response's Vary header unless it is there already.

    Plain string work: ``response.vary.add`` parses the header into a set and writes it
    back, ~4 µs each time, and a JSON answer adds up to three fields. Read with getlist:
    ``Headers.get`` of a missing header raises (and catches) a BadRequestKeyError.
    """
    current = ", ".join(response.headers.getlist("Vary"))
    if not current:
        response.headers["Vary"] = field
    elif field.lower() not in {part.strip().lower() for part in current.split(",")}:
        response.headers["Vary"] = f"{current}, {field}"
