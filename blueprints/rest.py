"""REST endpoints for curl users: GET /me to debug cookies, GET /healthz."""

from __future__ import annotations

from flask import Blueprint, Response, session

from http_json import json_response
from services import diagnostics

bp = Blueprint("rest", __name__)


@bp.get("/me")
def me() -> Response:
    """Who the cookie logs in as, and what the session behind it holds."""
    return json_response(diagnostics.describe_session(session))  # type: ignore[arg-type]


@bp.get("/healthz")
def healthz() -> Response:
    """200 when Redis and the database answer; 503 naming what is down."""
    report = diagnostics.health()
    return json_response(report, 200 if report["ok"] else 503)
