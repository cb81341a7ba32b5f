"""Simultaneous writes: one winner, clean refusals for the rest, never a 5xx or a stuck session.

Threads each drive their own test client against one app (as gunicorn's threads would), and
a real gunicorn with two workers of four threads repeats the registration race across
processes. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from tests.conftest import TEST_SECRET
from tests.helpers import CREATE_POST, LOGIN, REGISTER, GraphQLClient, cookie_value
from tests.processes import HttpClient, gunicorn, wait_for_workers
from tests.side_effects import table_count

T = TypeVar("T")
RACERS = 20
TAKEN = [{"field": "username", "message": "username already taken"}]
UPDATE = "mutation U($id: Int!, $t: String) { updatePost(id: $id, title: $t) { id title } }"
DELETE = "mutation D($id: Int!) { deletePost(id: $id) }"
POST = "query P($id: Int!) { post(id: $id) { id title } }"

pytestmark = [pytest.mark.timeout(120), pytest.mark.generous_rate_limits]


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(0..count-1)`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        barrier.wait(timeout=30)
        return work(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def ok_json(response: TestResponse) -> Any:
    """The body of a 200 response without top-level errors."""
    text = response.get_data(as_text=True)
    assert response.status_code == 200, text[:300]
    assert "locked" not in text.lower(), text[:300]
    body: dict[str, Any] = response.get_json()
    assert "errors" not in body, body
    return body


def test_twenty_registrations_of_one_name_make_one_user(app: Flask) -> None:
    def register_then_continue(index: int) -> tuple[dict[str, Any], dict[str, Any], str]:
        client = GraphQLClient(app.test_client())
        first = client.post(REGISTER, username="racer", password=f"password {index}")
        # the same thread (worker) serves its next request normally: nothing left to roll back
        after = client.post(REGISTER, username=f"after{index}", password="correct horse")
        return ok_json(first)["data"]["register"], ok_json(after)["data"]["register"], str(index)

    results = all_at_once(RACERS, register_then_continue)
    winners = [(first, index) for first, _, index in results if first["user"]]
    assert len(winners) == 1
    assert [first["errors"] for first, _, _ in results if not first["user"]] == [TAKEN] * 19
    assert all(after["user"] and after["errors"] is None for _, after, _ in results)
    assert table_count(app, "user") == RACERS + 1
    fresh = GraphQLClient(app.test_client())
    assert fresh.login("racer", f"password {winners[0][1]}")["user"]["username"] == "racer"
    loser = str((int(winners[0][1]) + 1) % RACERS)
    assert fresh.login("racer", f"password {loser}")["user"] is None


def graphql_from(client: HttpClient, ip: str, query: str, **variables: Any) -> Any:
    """POST an operation as a browser at ``ip`` behind the trusted proxy would."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": ip}
    status, _, data = client.request("POST", "/graphql", body, headers)
    return status, json.loads(data)


def test_twenty_registrations_across_gunicorn_workers(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "AUTO_MIGRATE": "0",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "TRUSTED_PROXIES": "1",  # twenty browsers, each from its own address
    }
    clients = [HttpClient("") for _ in range(RACERS)]
    with gunicorn(env, tmp_path) as server:
        wait_for_workers(server.process.pid, 2)
        for client in clients:
            client.base_url = server.base_url

        def register(index: int) -> Any:
            password = f"pw number {index}"
            return graphql_from(
                clients[index], f"10.0.0.{index}", REGISTER, username="racer", password=password
            )

        results = all_at_once(RACERS, register)
        # every worker thread serves its next requests, which use the database, normally
        follow_ups = [
            graphql_from(client, f"10.0.0.{i}", "{ me { username } posts { id } }")
            for i, client in enumerate(clients)
            for _ in range(2)
        ]
        log = server.log()
    assert [status for status, _ in results] == [200] * RACERS, results
    payloads = [body["data"]["register"] for _, body in results]
    assert sum(1 for p in payloads if p["user"]) == 1
    assert [p["errors"] for p in payloads if not p["user"]] == [TAKEN] * 19
    assert all(status == 200 and body["data"]["posts"] == [] for status, body in follow_ups)
    names = sorted((body["data"]["me"] or {}).get("username", "") for _, body in follow_ups)
    assert names == [""] * 38 + ["racer"] * 2
    assert table_count(app, "user") == 1
    assert "Traceback" not in log and "locked" not in log


# --- one post, written by its owner from several places at once --------------------------


def owner_clients(app: Flask, owner: GraphQLClient, count: int) -> list[GraphQLClient]:
    """``count`` clients carrying the owner's session cookie."""
    sid = cookie_value(owner.client)
    assert sid
    clients = []
    for _ in range(count):
        client = app.test_client()
        client.set_cookie("qid", sid)
        clients.append(GraphQLClient(client))
    return clients


@pytest.fixture
def owner(gql: GraphQLClient) -> GraphQLClient:
    """A logged-in client that owns posts."""
    assert gql.register("owner")["user"]
    return gql


def new_post(owner: GraphQLClient) -> int:
    """Create a post and return its id."""
    post_id: int = owner(CREATE_POST, title="original")["data"]["createPost"]["id"]
    return post_id


@pytest.mark.parametrize("rounds", [30])
def test_updates_racing_deletes_never_fail(app: Flask, owner: GraphQLClient, rounds: int) -> None:
    clients = owner_clients(app, owner, 4)
    for _ in range(rounds):
        post_id = new_post(owner)

        def write(index: int, post_id: int = post_id) -> Any:
            if index % 2:
                return ok_json(clients[index].post(DELETE, id=post_id))["data"]
            return ok_json(clients[index].post(UPDATE, id=post_id, t=f"title {index}"))["data"]

        results = all_at_once(len(clients), write)
        for index, data in enumerate(results):
            if index % 2:
                assert data == {"deletePost": True}
            else:
                assert data["updatePost"] in (None, {"id": post_id, "title": f"title {index}"})
        assert owner(POST, id=post_id) == {"data": {"post": None}}


def test_concurrent_updates_leave_one_of_the_written_titles(app: Flask, owner) -> None:
    clients = owner_clients(app, owner, 4)
    post_id = new_post(owner)
    titles = [f"title {index}" for index in range(len(clients))]

    def update(index: int) -> Any:
        return ok_json(clients[index].post(UPDATE, id=post_id, t=titles[index]))["data"]

    results = all_at_once(len(clients), update)
    assert [r["updatePost"]["title"] for r in results] == titles
    assert owner(POST, id=post_id)["data"]["post"]["title"] in titles


def test_double_delete_answers_true_twice(app: Flask, owner: GraphQLClient) -> None:
    clients = owner_clients(app, owner, 2)
    for _ in range(3):
        post_id = new_post(owner)

        def delete(index: int, post_id: int = post_id) -> Any:
            return ok_json(clients[index].post(DELETE, id=post_id))["data"]

        assert all_at_once(2, delete) == [{"deletePost": True}] * 2
        assert owner(POST, id=post_id) == {"data": {"post": None}}
    assert table_count(app, "post") == 0


def test_login_races_on_one_session_leave_it_usable(app: Flask, owner: GraphQLClient) -> None:
    clients = owner_clients(app, owner, 4)

    def login(index: int) -> Any:
        return ok_json(clients[index].post(LOGIN, username="owner", password="correct horse"))

    results = all_at_once(len(clients), login)
    assert all(r["data"]["login"]["user"]["username"] == "owner" for r in results)
    sids = {cookie_value(c.client) for c in clients}
    assert len(sids) == len(clients)  # each login issued its own new session id
    user = results[0]["data"]["login"]["user"]
    assert all(c.me() == {"id": user["id"], "username": "owner"} for c in clients)
