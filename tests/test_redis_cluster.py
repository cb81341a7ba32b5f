"""Redis Cluster (REDIS_URL=redis+cluster://...): sessions spread over three primaries.

The cluster is real: three cluster-enabled redis-server processes joined with
``redis-cli --cluster create``. Every command the service sends must touch one key (or
go through a non-transactional pipeline), or Cluster would refuse it with CROSSSLOT.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from flask import Flask

from tests.helpers import LOGOUT, ME, SQLITE_ONLY, GraphQLClient, cookie_value, registered_clients
from tests.redis_servers import (
    REDIS_CLI,
    REDIS_DOWN,
    REDIS_SERVER,
    Cluster,
    redis_cluster,
    require_binary,
)
from tests.support import wait_for
from tests.test_password_reset import CHANGE, register_with_email, request_token

pytestmark = pytest.mark.timeout(90)
SESSIONS = "{ sessions { id current } }"
REVOKE = "mutation R($id: String!) { revokeSession(id: $id) }"
USERS = 12  # with three primaries, all twelve sessions on one node has odds of 3 / 3**12


def _start(directory: Path) -> AbstractContextManager[Cluster]:
    require_binary(REDIS_SERVER, "redis-server")
    require_binary(REDIS_CLI, "redis-tools")
    return redis_cluster(directory)


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster for the module's tests that leave it healthy."""
    with _start(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def cluster(shared_cluster: Cluster) -> Iterator[Cluster]:
    """The shared cluster, emptied after each test."""
    yield shared_cluster
    for node in shared_cluster.nodes:
        node.client().flushall()


def _session_keys_per_node(cluster: Cluster) -> list[int]:
    return [len(list(node.client().scan_iter("sess:*"))) for node in cluster.nodes]


@SQLITE_ONLY
def test_register_login_me_logout_with_sessions_on_several_nodes(
    app_factory: Callable[..., Flask], cluster: Cluster
) -> None:
    app = app_factory(REDIS_URL=cluster.url)
    users = registered_clients(app, USERS)
    per_node = _session_keys_per_node(cluster)
    assert sum(per_node) == USERS  # every session is in the cluster, not elsewhere
    assert sum(1 for count in per_node if count) > 1, per_node

    for name, gql in users.items():
        assert gql.me()["username"] == name
    second = GraphQLClient(app.test_client())  # the same user on a second device
    assert second.login("user0")["user"]["username"] == "user0"
    assert second.me()["username"] == "user0"
    assert users["user0"].me()["username"] == "user0"

    old_cookie = cookie_value(users["user0"].client)
    assert users["user0"](LOGOUT) == {"data": {"logout": True}}
    assert users["user0"].me() is None
    replay = GraphQLClient(app.test_client())
    replay.client.set_cookie("qid", old_cookie or "")
    assert replay.me() is None  # a logged-out cookie stays logged out
    assert second.me()["username"] == "user0"
    assert sum(_session_keys_per_node(cluster)) == USERS  # one ended, one added


def _node_of(cluster: Cluster, key: str) -> int:
    """Which node holds ``key`` (SCAN, which a node answers for its own keys only)."""
    return next(i for i, node in enumerate(cluster.nodes) if any(node.client().scan_iter(key)))


def _devices_on_several_nodes(app: Flask, cluster: Cluster) -> list[GraphQLClient]:
    """alice registers, then logs in from more devices until her sessions span two nodes."""
    devices = [register_with_email(app, "alice@example.com")]
    nodes = {_node_of(cluster, f"sess:{cookie_value(devices[0].client)}")}
    while len(nodes) < 2 or len(devices) < 3:
        assert len(devices) < 20  # all on one of three nodes that often: odds of 3**-19
        device = GraphQLClient(app.test_client())
        assert device.login()["user"]["username"] == "alice"
        nodes.add(_node_of(cluster, f"sess:{cookie_value(device.client)}"))
        devices.append(device)
    return devices


@SQLITE_ONLY
def test_every_device_features_with_sessions_on_several_nodes(
    app_factory: Callable[..., Flask], cluster: Cluster
) -> None:
    app = app_factory(REDIS_URL=cluster.url)
    first, second, *others = _devices_on_several_nodes(app, cluster)
    listed = first(SESSIONS)["data"]["sessions"]
    assert len(listed) == 2 + len(others)
    assert sum(s["current"] for s in listed) == 1

    target = next(s["id"] for s in second(SESSIONS)["data"]["sessions"] if s["current"])
    assert first(REVOKE, id=target) == {"data": {"revokeSession": True}}
    assert second.me() is None and first.me()["username"] == "alice"

    assert first("mutation { logoutAll }") == {"data": {"logoutAll": 1 + len(others)}}
    assert [d.me() for d in (first, *others)] == [None] * (1 + len(others))
    assert _session_keys_per_node(cluster) == [0, 0, 0]


@SQLITE_ONLY
def test_password_reset_on_a_cluster(
    app_factory: Callable[..., Flask], cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_factory(REDIS_URL=cluster.url)
    first, *others = _devices_on_several_nodes(app, cluster)
    token = request_token(app, caplog, "alice@example.com")
    assert any(n.client().scan_iter(f"forget-password:{token}") for n in cluster.nodes)
    resetter = GraphQLClient(app.test_client())
    result = resetter(CHANGE, token=token, password="brand new horse")
    assert result["data"]["changePassword"]["user"]["username"] == "alice"
    assert resetter.me()["username"] == "alice"
    assert [d.me() for d in (first, *others)] == [None] * (1 + len(others))
    assert sum(_session_keys_per_node(cluster)) == 1
    again = resetter(CHANGE, token=token, password="another new horse")
    assert again["data"]["changePassword"]["errors"][0]["field"] == "token"


@SQLITE_ONLY
def test_operator_commands_find_index_keys_on_every_node(
    app_factory: Callable[..., Flask], cluster: Cluster
) -> None:
    app = app_factory(REDIS_URL=cluster.url)
    registered_clients(app, USERS)
    index_nodes = [len(list(n.client().scan_iter("user-sessions:*"))) for n in cluster.nodes]
    assert sum(index_nodes) == USERS and sum(1 for n in index_nodes if n) > 1, index_nodes
    for node in cluster.nodes:  # every session expires, as if Redis had expired them
        for key in list(node.client().scan_iter("sess:*")):
            node.client().delete(key)
    result = app.test_cli_runner().invoke(args=["sessions", "purge-orphans"])
    assert result.exit_code == 0, result.output
    assert f"purged {USERS} " in result.output  # the scan covered every primary
    listed = app.test_cli_runner().invoke(args=["sessions", "list", "--user", "user3"])
    assert "0 live session(s)" in listed.output


@SQLITE_ONLY
def test_rest_endpoints_on_a_cluster(app_factory: Callable[..., Flask], cluster: Cluster) -> None:
    app = app_factory(REDIS_URL=cluster.url)
    redis_client = app.extensions["redis"]
    assert redis_client.retry.get_retries() == app.config["REDIS_RETRIES"]  # bounded
    for node in redis_client.get_nodes():
        kwargs = node.redis_connection.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] == app.config["REDIS_SOCKET_TIMEOUT"]
        assert kwargs["socket_connect_timeout"] == app.config["REDIS_CONNECT_TIMEOUT"]
    client = app.test_client()
    assert client.get("/healthz").get_json()["ok"] is True
    GraphQLClient(client).register()
    body = client.get("/me").get_json()
    assert body["user"]["username"] == "alice"
    assert body["session"]["ttl"] > 0


@SQLITE_ONLY
def test_a_dead_node_costs_a_quick_503_not_a_hang(
    app_factory: Callable[..., Flask], tmp_path: Path
) -> None:
    with _start(tmp_path) as cluster:
        app = app_factory(REDIS_URL=cluster.url)
        users = registered_clients(app, USERS)
        victim = next(node for node in cluster.nodes if any(node.client().scan_iter("sess:*")))
        on_victim = {key.decode() for key in victim.client().scan_iter("sess:*")}
        victim.kill()
        for gql in users.values():
            sent = time.monotonic()
            response = gql.post(ME, expect_errors=True)
            assert time.monotonic() - sent < 5  # the client's timeouts and retry are bounded
            body = response.get_data(as_text=True)
            if f"sess:{cookie_value(gql.client)}" in on_victim:
                assert response.status_code == 503, body
            else:  # served, until the cluster itself notices the dead node and stops serving
                assert response.status_code in (200, 503), body
            if response.status_code == 503:
                assert response.headers["Retry-After"] == "1"
        health = app.test_client().get("/healthz")
        assert health.status_code == 503
        assert health.get_json()["down"] == ["redis"]

        live = next(node for node in cluster.nodes if node is not victim).client()
        wait_for(
            "CLUSTERDOWN",
            lambda: live.cluster("info")["cluster_state"] == "fail",
            ignore=REDIS_DOWN,
        )
        response = users["user0"].post(
            ME, expect_errors=True
        )  # now every slot refuses: still a clean 503
        assert response.status_code == 503, response.get_data(as_text=True)
