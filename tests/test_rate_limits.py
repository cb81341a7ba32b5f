"""Attempt limits in Redis: wrong passwords get RATE_LIMITED, and the limit lifts."""

from __future__ import annotations

import time

from tests.helpers import LOGIN, REGISTER, GraphQLClient


def test_twelve_wrong_passwords_get_rate_limited_then_the_limit_lifts(app_factory) -> None:
    app = app_factory()
    app.config["RATE_LIMIT_LOGIN_ACCOUNT"] = "10/2"
    GraphQLClient(app.test_client()).register("alice", "correct horse")
    attacker = GraphQLClient(app.test_client())
    guesses = [f"guess {n}" for n in range(12)]  # the last two are refused: errors expected
    answers = [
        attacker.post(LOGIN, expect_errors=True, username="alice", password=guess)
        for guess in guesses
    ]
    assert [r.status_code for r in answers[:10]] == [200] * 10
    assert all(r.get_json()["data"]["login"]["errors"] for r in answers[:10])
    for limited in answers[10:]:
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        [error] = limited.get_json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
    # the right password is refused too while limited: the account is what is protected
    limited = attacker.post(LOGIN, expect_errors=True, username="ALICE", password="correct horse")
    assert limited.status_code == 429
    time.sleep(2.2)
    assert attacker.login("alice", "correct horse")["user"]


def test_per_ip_limit_counts_every_attempt(app_factory) -> None:
    app = app_factory()
    app.config["RATE_LIMIT_LOGIN_IP"] = "5/60"
    client = GraphQLClient(app.test_client())
    statuses = [
        client.post(
            LOGIN, expect_errors=True, username=f"user{n}", password="whatever pw"
        ).status_code
        for n in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2
    other_ip = app.test_client()
    other_ip.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert GraphQLClient(other_ip).post(LOGIN, username="x", password="y" * 8).status_code == 200


def test_register_and_forgot_password_are_limited_per_ip(app_factory) -> None:
    app = app_factory()
    app.config["RATE_LIMIT_REGISTER_IP"] = "2/60"
    app.config["RATE_LIMIT_RESET_IP"] = "2/60"
    gql = GraphQLClient(app.test_client())
    assert gql.register("one")["user"] and gql.register("two")["user"]
    third = gql.post(REGISTER, expect_errors=True, username="three", password="correct horse")
    assert third.status_code == 429
    forgot = 'mutation { forgotPassword(email: "a@example.com") }'
    assert [gql.post(forgot, expect_errors=True).status_code for _ in range(3)] == [200, 200, 429]


def test_aliased_logins_in_one_document_are_refused(app_factory) -> None:
    app = app_factory()
    gql = GraphQLClient(app.test_client())
    fields = " ".join(
        f'a{n}: login(options: {{username: "alice", password: "guess{n}xx"}}) {{ user {{ id }} }}'
        for n in range(10)
    )
    response = gql.post(f"mutation {{ {fields} }}", expect_errors=True)
    assert response.status_code == 400
    assert "Only one login" in response.get_json()["errors"][0]["message"]
    assert (
        gql.post(f"mutation {{ {fields * 10} }}", expect_errors=True).status_code == 400
    )  # token limit
