"""Request ids: every request gets one, echoed in X-Request-Id and carried by the logs.

Assigned around Flask by the edge (web/edge.py), in the WSGI environ
(``infra.logs.REQUEST_ID_ENVIRON``), rather than in a before_request hook and ``g``: every
answer carries it, those Flask makes before or without any hook (404, 405, refusals) too,
and a request pays no hook, no ``g`` lookups and no ``Headers.set`` for it.
"""

from __future__ import annotations

import random
import re

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_for(incoming: str | None) -> str:
    """The client's X-Request-Id if it is sane, else a new one."""
    return incoming if incoming and REQUEST_ID.fullmatch(incoming) else new_request_id()


def new_request_id() -> str:
    """16 hex digits, unique in practice; not a secret (clients may choose their own), so
    from the fast generator, which each worker reseeds after fork, not os.urandom."""
    return f"{random.getrandbits(64):016x}"
