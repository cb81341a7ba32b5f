"""REST endpoints for curl users: GET /me to debug cookies, /sessions; /livez, /healthz, /readyz."""

from __future__ import annotations

from flask import Blueprint, Response

from services import diagnostics, user_sessions
from services.errors import NotFound
from services.user_sessions import SessionInfo
from sessions.extension import current_session
from web.json_body import json_response

bp = Blueprint("rest", __name__)


@bp.get("/me")
def me() -> Response:
    """Who the cookie logs in as, and what the session behind it holds."""
    return json_response(diagnostics.describe_session(current_session()))


@bp.get("/livez")
def livez() -> Response:
    """Liveness: the process answers. Checks no dependency, so an outage restarts nothing."""
    return json_response({"ok": True})


@bp.get("/healthz")
def healthz() -> Response:
    """200 when Redis and the database answer; 503 naming what is down."""
    report = diagnostics.health()
    return json_response(report, 200 if report["ok"] else 503)


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: Redis and the database reachable and migrations at head; 503 otherwise."""
    report = diagnostics.readiness()
    return json_response(report, 200 if report["ok"] else 503)


@bp.get("/sessions")
def list_sessions() -> Response:
    """The logged-in user's live sessions (401 when anonymous)."""
    sessions = user_sessions.list_sessions(current_session())
    return json_response({"sessions": [_session_json(s) for s in sessions]})


@bp.delete("/sessions/<session_id>")
def revoke_session(session_id: str) -> Response:
    """End one of the user's sessions; 404 if there is no such session."""
    if not user_sessions.revoke_session(current_session(), session_id):
        raise NotFound()
    return json_response({"revoked": True})


@bp.delete("/sessions")
def log_out_everywhere() -> Response:
    """End every session of the user, this one included."""
    return json_response({"ended": user_sessions.log_out_everywhere(current_session())})


def _session_json(info: SessionInfo) -> dict[str, object]:
    return {
        "id": info.id,
        "createdAt": str(info.created_at_ms),
        "userAgent": info.user_agent,
        "ip": info.ip,
        "current": info.current,
    }
