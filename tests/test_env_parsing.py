"""Every environment variable goes through one parser; a value it cannot read stops start-up.

Before: AUTO_MIGRATE=false meant on, ACCESS_LOG=true meant off, LOG_FORMAT=JSON silently
meant text, and SESSION_COOKIE_HOST_PREFIX=1 in development sent __Host-qid without Secure
(a later line overwrote it), which browsers drop.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_config
from tests.helpers import REGISTER_ALICE, GraphQLClient, set_cookies
from tests.processes import PROJECT_DIR, gunicorn_refusal

BOOLEANS = ["AUTO_MIGRATE", "ACCESS_LOG", "SESSION_COOKIE_HOST_PREFIX"]
TRUE = ["1", "true", "TRUE", "True", "yes", "YES", "on", "On", " on "]
FALSE = ["0", "false", "FALSE", "no", "No", "off", "OFF"]


def config_attribute(name: str, env: dict[str, str], tmp_path: Path) -> object:
    config = load_config(env, tmp_path)
    if name == "SESSION_COOKIE_HOST_PREFIX":
        return config.SESSION_COOKIE_NAME.startswith("__Host-")
    return getattr(config, name)


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("value", TRUE)
def test_booleans_read_true(name: str, value: str, tmp_path: Path) -> None:
    assert config_attribute(name, {name: value}, tmp_path) is True


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("value", FALSE)
def test_booleans_read_false(name: str, value: str, tmp_path: Path) -> None:
    assert config_attribute(name, {name: value}, tmp_path) is False


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LOG_FORMAT": "JSON"}, ("json", "INFO")),
        ({"LOG_FORMAT": "Text", "LOG_LEVEL": "debug"}, ("text", "DEBUG")),
        ({}, ("text", "INFO")),
        ({"APP_ENV": "Production", **{"SECRET_KEY": "s" * 32}}, ("json", "INFO")),
    ],
)
def test_choices_ignore_case(env: dict[str, str], expected: tuple[str, str], tmp_path) -> None:
    env = {**env, "REDIS_URL": "redis://r", "DATABASE_URL": "postgresql://d"}
    config = load_config(env, tmp_path)
    assert expected == (config.LOG_FORMAT, config.LOG_LEVEL)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTO_MIGRATE", "maybe"),
        ("ACCESS_LOG", "2"),
        ("SESSION_COOKIE_HOST_PREFIX", "yes please"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "loud"),
        ("PORT", "eighty"),
    ],
)
def test_unknown_values_stop_start_up_naming_the_variable(name: str, value: str, tmp_path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({name: value}, tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{name} must be") and repr(value) in message
    assert "\n" not in message


def test_gunicorn_refuses_an_unknown_value_in_one_line(tmp_path: Path) -> None:
    env = {
        "SECRET_KEY": "s" * 32,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
        "ACCESS_LOG": "sure",
    }
    code, output = gunicorn_refusal(env)
    assert code != 0
    assert "configuration error: ACCESS_LOG must be one of 1/0, true/false" in output
    assert "Traceback" not in output


def test_host_prefix_cookie_is_secure_in_development(tmp_path: Path, app_factory) -> None:
    config = load_config({"SESSION_COOKIE_HOST_PREFIX": "1"}, tmp_path)
    assert config.SESSION_COOKIE_NAME == "__Host-qid"
    assert config.SESSION_COOKIE_SECURE is True
    app = app_factory(env={"SESSION_COOKIE_HOST_PREFIX": "1"})
    [header] = set_cookies(GraphQLClient(app.test_client()).post(REGISTER_ALICE))
    assert header.startswith("__Host-qid=") and "; Secure" in header


def test_the_development_server_refuses_an_unknown_value_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "LOG_FORMAT": "xml", "INSTANCE_PATH": str(tmp_path)}
    flask = str(Path(sys.executable).parent / "flask")
    result = subprocess.run(
        [flask, "--app", "wsgi", "routes"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    output = (result.stdout + result.stderr).strip()
    assert output == "configuration error: LOG_FORMAT must be one of json, text, got 'xml'"
