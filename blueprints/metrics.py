"""GET /metrics: Prometheus text format, only to addresses in METRICS_ALLOW."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, current_app, request
from werkzeug.exceptions import NotFound

from infra import metrics
from web.response import Response

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    """Every worker's metrics; 404 to a client outside the allow-list (nothing to see)."""
    if not allowed(request.remote_addr, current_app.config["METRICS_ALLOW"]):
        raise NotFound()
    body, content_type = metrics.exposition(request.headers.get("Accept", ""))
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def allowed(address: str | None, networks: list[str]) -> bool:
    """Whether ``address`` lies in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network) for network in networks)
