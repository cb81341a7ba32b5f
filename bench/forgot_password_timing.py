"""How long forgotPassword takes for a known and an unknown email, per mail-server state.

`python -m bench.forgot_password_timing [--rounds 200]` with REDIS_URL naming a Redis
(a scratch database: it is flushed). The app runs in-process on a fresh SQLite file; the
mail servers are real: aiosmtpd accepting, aiosmtpd refusing (554), and a socket that
accepts connections and never answers (hung). Known and unknown requests alternate, so
drift hits both alike. Prints median and p90 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from app import create_app
from config import RATE_LIMIT_SETTINGS, load_config
from extensions import redis_extension
from infra.database import upgrade_database
from infra.mail import outbox
from tests.processes import free_port

FORGOT = "mutation F($email: String!) { forgotPassword(email: $email) }"
REGISTER = """mutation R($email: String) {
  register(options: {username: "alice", password: "correct horse", email: $email}) { user { id } }
}"""


class Reply:
    """An SMTP handler answering DATA with a fixed reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return self.reply


@contextmanager
def smtp(reply: str) -> Iterator[int]:
    """An aiosmtpd server on a free port, answering DATA with ``reply``."""
    port = free_port()
    controller = Controller(Reply(reply), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def hung() -> Iterator[int]:
    """A listening socket that never accepts: connections hang waiting for a greeting."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.listen(1024)
        yield listener.getsockname()[1]


def measure(port: int, rounds: int) -> dict[str, list[float]]:
    """Milliseconds per forgotPassword, known and unknown email alternating."""

    directory = tempfile.mkdtemp()
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "b" * 40,
        "DATABASE_URL": f"sqlite:///{directory}/bench.sqlite",
        "MAIL_URL": f"smtp://127.0.0.1:{port}",
        "MAIL_SHUTDOWN_WAIT": "0",
        **{name: "1000000/60" for name in RATE_LIMIT_SETTINGS},
    }
    app = create_app(load_config(env, instance_dir=directory))  # type: ignore[arg-type]
    upgrade_database(app)
    with app.app_context():
        redis_extension.client.flushdb()
    client = app.test_client()
    client.post("/graphql", json={"query": REGISTER, "variables": {"email": "a@example.com"}})
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for _ in range(rounds):
        for kind, email in (("known", "a@example.com"), ("unknown", "z@example.com")):
            started = time.perf_counter()
            answer = client.post("/graphql", json={"query": FORGOT, "variables": {"email": email}})
            times[kind].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.get_data(as_text=True)
    outbox(app).close()
    return times


def main() -> None:
    """Measure each mail-server state and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    print(f"{'mail server':<12}{'email':<9}{'median ms':>10}{'p90 ms':>9}")
    for name, server in (
        ("accepting", smtp("250 OK")),
        ("refusing", smtp("554 5.7.1 refused")),
        ("hung", hung()),
    ):
        with server as port:
            for kind, values in measure(port, rounds).items():
                p90 = statistics.quantiles(values, n=10)[-1]
                print(f"{name:<12}{kind:<9}{statistics.median(values):>10.2f}{p90:>9.2f}")


if __name__ == "__main__":
    main()
