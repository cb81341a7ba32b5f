"""Configuration from the environment: development works bare, production refuses weak setups."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_config, normalise_database_url
from tests.helpers import REGISTER_ALICE, GraphQLClient, set_cookies

STRONG = "s" * 32
PROD = {
    "APP_ENV": "production",
    "SECRET_KEY": STRONG,
    "REDIS_URL": "redis://r",
    "DATABASE_URL": "postgresql://d",
}


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({**PROD, "SECRET_KEY": ""}, "SECRET_KEY must be set to at least 32 characters"),
        ({**PROD, "SECRET_KEY": "x" * 31}, "SECRET_KEY must be set to at least 32 characters"),
        ({**PROD, "REDIS_URL": ""}, "REDIS_URL must be set in production"),
        ({**PROD, "DATABASE_URL": ""}, "DATABASE_URL must be set in production"),
        ({"APP_ENV": "staging"}, "APP_ENV must be one of"),
        ({"SESSION_LIFETIME": "soon"}, "SESSION_LIFETIME must be an integer"),
        ({"SESSION_LIFETIME": "0"}, "SESSION_LIFETIME must be a positive number"),
    ],
)
def test_refuses_unusable_configuration(env: dict[str, str], reason: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        load_config(env, tmp_path)
    assert "\n" not in str(caught.value)


def test_development_needs_nothing(tmp_path: Path) -> None:
    config = load_config({}, tmp_path)
    assert f"sqlite:///{tmp_path / 'app.sqlite'}" == config.SQLALCHEMY_DATABASE_URI
    assert len(config.SECRET_KEY) >= 32
    assert load_config({}, tmp_path).SECRET_KEY == config.SECRET_KEY  # kept, not remade
    assert config.REDIS_URL == ""  # the embedded server is started by the Redis extension
    assert config.SESSION_COOKIE_SECURE is False
    assert config.PORT == 4000
    assert config.SESSION_LIFETIME == 10 * 365 * 24 * 3600


def test_production_defaults(tmp_path: Path) -> None:
    config = load_config(PROD, tmp_path)
    assert config.SESSION_COOKIE_SECURE is True
    assert config.GRAPHQL_EXPLORER is False
    assert config.GRAPHQL_INTROSPECTION is False
    assert config.DEBUG is False


@pytest.mark.parametrize(
    "url", ["postgres://u@h/db", "postgresql://u@h/db", "postgresql+psycopg://u@h/db"]
)
def test_database_url_forms(url: str) -> None:
    assert normalise_database_url(url) == "postgresql+psycopg://u@h/db"


def test_production_app_sets_secure_cookie_and_hides_explorer(app_factory) -> None:
    from config import ProductionConfig

    app = app_factory(ProductionConfig, env={"APP_ENV": "production"})
    client = app.test_client()
    gql = GraphQLClient(client)
    response = gql.post(REGISTER_ALICE)
    [header] = set_cookies(response)
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert client.get("/graphql", headers={"Accept": "text/html"}).status_code == 406  # no page
    body = gql("{ __schema { types { name } } }", expect_errors=True)
    assert body["errors"] and "introspection" in body["errors"][0]["message"].lower()
    body = gql("{ me { usernam } }", expect_errors=True)
    assert "Did you mean" not in body["errors"][0]["message"]
