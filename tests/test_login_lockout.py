"""Brute force stays bounded, and strangers' wrong guesses cannot lock the owner out."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import LOGIN, GraphQLClient, set_cookies
from tests.test_password_reset import CHANGE, register_with_email, request_token

DEVICE_COOKIE = "qid-device"


def from_address(app: Flask, address: str) -> GraphQLClient:
    client: FlaskClient = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return GraphQLClient(client)


def guess(gql: GraphQLClient, password: str, username: str = "alice") -> int:
    return gql.post(LOGIN, expect_errors=True, username=username, password=password).status_code


@pytest.fixture
def owner(app: Flask) -> GraphQLClient:
    """alice's own browser: registered elsewhere, logged in here once, then logged out."""
    GraphQLClient(app.test_client()).register("alice")
    browser = from_address(app, "192.0.2.10")
    assert browser.login("alice")["user"]
    assert browser.client.get_cookie(DEVICE_COOKIE)
    browser("mutation { logout }")
    return browser


def test_the_owner_gets_in_while_strangers_are_limited(app: Flask, owner: GraphQLClient) -> None:
    attacker = from_address(app, "198.51.100.7")
    assert [guess(attacker, f"guess {n}") for n in range(10)] == [200] * 10
    assert guess(attacker, "guess 11") == 429
    assert guess(attacker, "correct horse") == 429  # the attacker is still limited
    elsewhere = from_address(app, "203.0.113.50")  # another stranger, another address
    assert guess(elsewhere, "guess 12") == 429  # the bound is per account, not per address
    assert owner.login("alice")["user"]  # the owner's device keeps its own budget
    assert owner.me()["username"] == "alice"


def test_a_trusted_device_has_a_bounded_budget_of_its_own(app: Flask, owner: GraphQLClient) -> None:
    assert [guess(owner, f"typo {n}") for n in range(10)] == [200] * 10
    assert guess(owner, "correct horse") == 429
    assert GraphQLClient(app.test_client()).login("alice")["user"]  # other budgets untouched


def test_a_device_cookie_trusts_only_its_account_and_only_as_signed(
    app: Flask, owner: GraphQLClient
) -> None:
    mallory = from_address(app, "198.51.100.8")
    mallory.register("mallory")
    assert mallory.login("mallory")["user"]  # trusted, but for mallory only
    assert [guess(mallory, f"guess {n}") for n in range(10)] == [200] * 10
    assert guess(mallory, "guess 11") == 429
    forged = from_address(app, "198.51.100.9")
    cookie = owner.client.get_cookie(DEVICE_COOKIE)
    assert cookie is not None
    forged.client.set_cookie(DEVICE_COOKIE, cookie.value[:-2] + "xx")
    assert guess(forged, "correct horse") == 429
    assert owner.login("alice")["user"]


def test_the_device_cookie_is_httponly_and_lax(app: Flask) -> None:
    GraphQLClient(app.test_client()).register("alice")
    response = GraphQLClient(app.test_client()).post(
        LOGIN, username="alice", password="correct horse"
    )
    [device] = [h for h in set_cookies(response) if h.startswith(f"{DEVICE_COOKIE}=")]
    assert "HttpOnly" in device and "SameSite=Lax" in device and "Path=/" in device


def test_a_password_reset_trusts_the_device_it_completes_on(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    register_with_email(app)
    attacker = from_address(app, "198.51.100.7")
    for n in range(11):
        guess(attacker, f"guess {n}")
    token = request_token(app, caplog, "alice@example.com")
    new_device = from_address(app, "192.0.2.99")
    assert new_device(CHANGE, token=token, password="brand new horse")["data"]["changePassword"]
    new_device("mutation { logout }")
    assert new_device.login("alice", "brand new horse")["user"]


def test_the_owner_behind_the_attackers_address_still_gets_in(app_factory) -> None:
    app = app_factory(env={"RATE_LIMIT_LOGIN_IP": "5/900"})
    GraphQLClient(app.test_client()).register("alice")
    owner = from_address(app, "192.0.2.10")
    assert owner.login("alice")["user"]
    attacker = from_address(app, "192.0.2.10")  # the same NAT, office or carrier address
    statuses = [guess(attacker, f"guess {n}", username=f"user{n}") for n in range(6)]
    assert statuses == [200] * 4 + [429] * 2  # the owner's login counted for the address
    assert guess(attacker, "correct horse") == 429
    assert owner.login("alice")["user"]  # a trusted device skips the per-address limit
