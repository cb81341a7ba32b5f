"""HTTP plumbing shared by the blueprints: JSON in and out, request ids, browser security."""

from collections.abc import Callable, Iterable
from typing import Any

# The WSGI shapes the middlewares here share (request ids, metrics, security headers).
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
