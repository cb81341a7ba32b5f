"""Waiting for real processes: free loopback ports and polling with a deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str,
    check: Callable[[], object],
    timeout: float = 20,
    interval: float = 0.05,
    ignore: tuple[type[Exception], ...] = (),
) -> None:
    """Poll ``check`` until it is true; TimeoutError naming ``what`` after ``timeout``.

    Exceptions of the ``ignore`` types count as "not yet".
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except ignore:
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout}s")
