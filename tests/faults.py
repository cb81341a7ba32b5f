"""Helpers for fault tests: what a clean outage answer looks like, and bounded load."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app
from extensions import db
from infra.database import upgrade_database
from models import User
from tests.conftest import make_config
from tests.helpers import ME, REGISTER
from tests.support import HttpClient, app_env

# "Fails fast instead of hanging": far below gunicorn's 30 s worker timeout.
FAST = 3.0
PASSWORD = "correct horse"  # every fault test's users
POSTS = "{ posts(limit: 10) { id title } }"
READ = "{ me { username } posts(limit: 5) { id } }"  # alice's logged-in read
gunicorn_env = app_env  # the name tests written before tests.support import


def migrated_app(
    database_url: str, redis_url: str, env: dict[str, str] | None = None, **overrides: Any
) -> Flask:
    """An app on the given services (``env`` as if from the environment), database migrated."""
    upgrade_database(create_app(make_config(database_url, redis_url)))
    return create_app(make_config(database_url, redis_url, env=env, **overrides))


def assert_unavailable(status: int, headers: Mapping[str, str], body: bytes) -> None:
    """A clean outage answer: 503 JSON with Retry-After, no cookie, no HTML, no trace."""
    text = body.decode("utf-8", errors="replace")
    assert status == 503, text
    assert headers.get("Content-Type", "").startswith("application/json"), headers
    assert headers.get("Retry-After") == "1", headers
    assert "Set-Cookie" not in headers and "set-cookie" not in headers, headers
    assert "SERVICE_UNAVAILABLE" in text, text
    for leak in ("<html", "Traceback", 'File "', "redis", "psycopg", "sqlalchemy"):
        assert leak.lower() not in text.lower(), text
    json.loads(text)


def gql_post(client: FlaskClient, query: str, **variables: Any) -> Any:
    """POST an operation through a Flask test client, returning the raw response."""
    return client.post("/graphql", json={"query": query, "variables": variables})


def user_count(app: Flask, username: str) -> int:
    """Rows for ``username`` in the user table."""
    with app.app_context():
        query = select(func.count()).select_from(User).where(User.username == username)
        return db.session.scalar(query) or 0


def me_of(client: FlaskClient) -> str | None:
    """The username ``me`` answers, asserting a 200."""
    response = gql_post(client, ME)
    assert response.status_code == 200, response.get_data()
    user = response.get_json()["data"]["me"]
    return user["username"] if user else None


def registered_client(app: Flask, username: str = "alice") -> FlaskClient:
    """A test client logged in as a freshly registered user."""
    client = app.test_client()
    response = gql_post(client, REGISTER, username=username, password=PASSWORD)
    assert response.status_code == 200, response.get_data()
    assert response.get_json()["data"]["register"]["user"]["username"] == username
    return client


def check_unavailable(response: Any) -> None:
    """``assert_unavailable`` for a Flask test response."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}
    if response.headers.getlist("Set-Cookie"):
        headers["Set-Cookie"] = "; ".join(response.headers.getlist("Set-Cookie"))
    assert_unavailable(response.status_code, headers, response.get_data())


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """The result of ``call`` and how many seconds it took."""
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


@dataclass
class LoadResult:
    """Outcomes of a bounded load run: one (start, end, outcome) per request."""

    records: list[tuple[float, float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, start: float, end: float, outcome: str) -> None:
        """Record one request."""
        with self.lock:
            self.records.append((start, end, outcome))

    def counts(self) -> Counter[str]:
        """How many requests ended with each outcome."""
        return Counter(outcome for _, _, outcome in self.records)

    def after(self, moment: float) -> Counter[str]:
        """Outcomes of requests that started after ``moment``."""
        return Counter(outcome for start, _, outcome in self.records if start > moment)


def run_load(
    step: Callable[[int], str],
    threads: int,
    stop: threading.Event,
    max_seconds: float,
    result: LoadResult,
) -> list[threading.Thread]:
    """Start ``threads`` threads calling ``step(thread_index)`` until ``stop`` or the time cap."""
    deadline = time.monotonic() + max_seconds

    def loop(index: int) -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            start = time.monotonic()
            try:
                outcome = step(index)
            except Exception as error:  # an escaped exception is an outcome too
                outcome = f"raised {type(error).__name__}: {error}"[:200]
            result.add(start, time.monotonic(), outcome)

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    return workers


def join_all(workers: list[threading.Thread], timeout: float = 30) -> None:
    """Join load threads, failing if any is still running after ``timeout``."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.join(max(0.1, deadline - time.monotonic()))
    assert not any(worker.is_alive() for worker in workers), "load threads hung"


def http_call(
    client: HttpClient, query: str, **variables: Any
) -> tuple[int, dict[str, str], bytes]:
    """POST a GraphQL operation over real HTTP; status, headers and raw body."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    return client.request("POST", "/graphql", body, {"Content-Type": "application/json"})


def fresh_client(base_url: str, cookies: dict[str, str] | None = None) -> HttpClient:
    """A new client (a new connection per request) carrying a copy of ``cookies``."""
    client = HttpClient(base_url, timeout=15)
    client.cookies = dict(cookies or {})
    return client


def connected_to(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds an established TCP connection to 127.0.0.1:``port``."""
    import psutil

    return any(
        conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
        for conn in psutil.Process(pid).net_connections(kind="tcp")
    )


def other_connections(url: str, database: str, select: str) -> list[Any]:
    """``select`` (over pg_stat_activity) for each connection to ``database`` but our own."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            f"SELECT {select} FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return [row[0] for row in rows]


def ok_data(response: Any) -> Any:
    """The data of a 200 GraphQL answer without errors."""
    body = response.get_json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def assert_fast_503(call: Any, what: str) -> None:
    """``call()`` answers a clean 503 within FAST seconds."""
    response, seconds = timed(call)
    check_unavailable(response)
    assert seconds < FAST, f"{what} took {seconds:.2f}s"


def register_over_http(base_url: str, username: str = "alice") -> dict[str, str]:
    """Register a user; return the cookies that log it in."""
    client = fresh_client(base_url)
    status, _, body = http_call(client, REGISTER, username=username, password=PASSWORD)
    assert status == 200 and json.loads(body)["data"]["register"]["user"], body
    return client.cookies


def read_outcome(base_url: str, cookies: dict[str, str]) -> str:
    """One logged-in read: 'ok', 'HTTP <status>' or the connection error's name."""
    try:
        status, _, body = http_call(fresh_client(base_url, cookies), READ)
    except (urllib.error.URLError, HTTPException, ConnectionError) as error:
        return f"connection {type(error).__name__}"
    if status == 200 and json.loads(body)["data"]["me"]["username"] == "alice":
        return "ok"
    return f"HTTP {status}"
