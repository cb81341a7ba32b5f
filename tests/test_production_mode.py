"""Production mode: secure cookies, proxies trusted only as configured, timeouts, timing."""

from __future__ import annotations

import statistics
import time

import redis

from config import ProductionConfig
from tests.helpers import LOGIN, REGISTER_ALICE, GraphQLClient, cookie_value, set_cookies

SESSIONS = "{ sessions { ip current } }"


def test_host_prefixed_cookie(app_factory) -> None:
    app = app_factory(ProductionConfig, env={"SESSION_COOKIE_HOST_PREFIX": "1"})
    gql = GraphQLClient(app.test_client())
    [header] = set_cookies(gql.post(REGISTER_ALICE))
    assert header.startswith("__Host-qid=")
    assert "Secure" in header and "Path=/" in header and "Domain" not in header
    assert app.debug is False


def test_spoofed_forwarded_headers_change_nothing_without_trusted_proxies(app_factory) -> None:
    app = app_factory(ProductionConfig)
    client = app.test_client()
    headers = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"}
    gql = GraphQLClient(client)
    response = client.post("/graphql", json={"query": REGISTER_ALICE}, headers=headers)
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    assert gql(SESSIONS)["data"]["sessions"][0]["ip"] == "127.0.0.1"


def test_one_trusted_proxy_gives_client_ip_and_https(app_factory) -> None:
    app = app_factory(ProductionConfig, env={"TRUSTED_PROXIES": "1"})
    client = app.test_client()
    headers = {"X-Forwarded-For": "1.1.1.1, 203.0.113.9", "X-Forwarded-Proto": "https"}
    response = client.post("/graphql", json={"query": REGISTER_ALICE}, headers=headers)
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    # only the last hop (the one the proxy appended) is believed, not the client's own claim
    sessions = GraphQLClient(client)(SESSIONS)["data"]["sessions"]
    assert sessions[0]["ip"] == "203.0.113.9"


def test_secret_key_fallbacks_are_accepted(app_factory) -> None:
    app = app_factory(ProductionConfig, env={"SECRET_KEY_FALLBACKS": "old-secret-1,old-secret-2"})
    assert app.config["SECRET_KEY_FALLBACKS"] == ["old-secret-1", "old-secret-2"]
    gql = GraphQLClient(app.test_client())
    gql.post(REGISTER_ALICE)
    assert gql.me()["username"] == "alice"  # session ids are random, not signed: nothing to re-sign


def test_absolute_limit_ends_an_active_session(app_factory, redis_server: redis.Redis) -> None:
    app = app_factory(env={"SESSION_MAX_AGE": "2"})
    gql = GraphQLClient(app.test_client())
    gql.register()
    sid = cookie_value(gql.client)
    assert 0 < redis_server.ttl(f"sess:{sid}") <= 2
    assert gql.me() is not None
    time.sleep(2.2)
    assert gql.me() is None


def test_idle_timeout_slides_but_reads_stay_one_get(app_factory, redis_server: redis.Redis) -> None:
    from tests.helpers import count_redis_commands

    app = app_factory(env={"SESSION_IDLE_TIMEOUT": "4", "SESSION_TOUCH_INTERVAL": "2"})
    gql = GraphQLClient(app.test_client())
    gql.register()
    sid = cookie_value(gql.client)
    with count_redis_commands(redis_server) as counts:
        assert gql.me() is not None  # well within the touch interval: a plain read
    assert counts == {"get": 1}
    for _ in range(4):  # active for longer than the idle timeout
        time.sleep(1.5)
        assert gql.me() is not None
    assert 2 <= redis_server.ttl(f"sess:{sid}") <= 4
    time.sleep(4.2)  # idle past the timeout
    assert gql.me() is None


def test_unknown_user_and_wrong_password_take_about_the_same_time(app_factory) -> None:
    app = app_factory()
    app.config.update(
        ARGON2_TIME_COST=2, ARGON2_MEMORY_COST=16 * 1024, RATE_LIMIT_LOGIN_IP="500/60"
    )
    app.config["RATE_LIMIT_LOGIN_ACCOUNT"] = "500/60"
    GraphQLClient(app.test_client()).register("alice", "correct horse")
    client = GraphQLClient(app.test_client())

    def cpu_seconds(username: str) -> float:
        # the process's CPU time, not the wall clock: other jobs on the machine do not count
        start = time.process_time()
        client.post(LOGIN, username=username, password="wrong password")
        return time.process_time() - start

    cpu_seconds("nobody")  # warm-up: the dummy hash is made once per process
    times: dict[str, list[float]] = {"alice": [], "nobody": []}
    for _ in range(15):  # interleaved, so a change of machine load falls on both alike
        for username, seen in times.items():
            seen.append(cpu_seconds(username))
    wrong_password, unknown_user = (statistics.median(times[u]) for u in ("alice", "nobody"))
    # both verify an argon2 hash; without the dummy hash an unknown user would answer ~100x faster
    assert 0.5 < unknown_user / wrong_password < 2.0
