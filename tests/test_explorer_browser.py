"""The explorer in a real browser: Debian's Chromium, driven by Playwright, against gunicorn.

It opens GET /graphql with every request outside 127.0.0.1 blocked (and asserts none was
tried), registers through the editor, checks the browser holds the HttpOnly ``qid`` cookie,
runs ``me`` and keeps a screenshot in tests/artifacts/explorer-me.png.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    expect,
    sync_playwright,
)

from tests.processes import Server, gunicorn
from tests.support import app_env

pytestmark = pytest.mark.timeout(120)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LOOPBACK = {"127.0.0.1"}
# Records Content-Security-Policy violations before any page script runs.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
});
"""
REGISTER = """mutation {
  register(options: {username: "%s", password: "correct horse"}) {
    errors { field message }
    user { id username }
  }
}"""
ME = "{ me { id username } }"


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium (.ci/run installs it); the test installs nothing itself."""
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} not found: install Debian's chromium (.ci/run does)"
        print(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def server(tmp_path: Path, redis_url: str) -> Iterator[Server]:
    """The product under gunicorn in development mode (explorer on), on a fresh SQLite."""
    database_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    env = app_env(tmp_path, database_url, redis_url, workers="1", APP_ENV="development")
    with gunicorn(env, tmp_path) as running:
        yield running


@dataclass
class Browser:
    """A headless Chromium context and what went wrong in it."""

    context: BrowserContext
    outside: list[str] = field(default_factory=list)  # requests that tried to leave loopback
    problems: list[str] = field(default_factory=list)  # page errors and console errors

    def block_non_loopback(self, route: Route) -> None:
        """Let loopback requests through; abort and record every other one."""
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def record_console_error(self, message: ConsoleMessage) -> None:
        """Keep console errors (failed loads, CSP reports, exceptions)."""
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def new_page(self) -> Page:
        """A page whose errors are recorded."""
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self.record_console_error)
        return page


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    """Headless Chromium with a fresh profile; nothing may leave 127.0.0.1."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 720},
        )
        try:
            context.set_default_timeout(15_000)
            context.add_init_script(CSP_RECORDER)
            watched = Browser(context)
            context.route("**/*", watched.block_non_loopback)
            yield watched
        finally:
            context.close()


def run_in_editor(page: Page, operation: str) -> None:
    """Replace the query editor's text with ``operation`` and press the run button."""
    page.locator(".graphiql-query-editor .CodeMirror").click()
    page.keyboard.press("Control+A")
    # insert_text, not type: typing "{" would trigger the editor's bracket auto-closing
    page.keyboard.insert_text(operation)
    page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()


def result_of(page: Page, field: str) -> Any:
    """The JSON in the result pane, once it answers ``field``."""
    pane = page.locator(".graphiql-response")
    expect(pane).to_contain_text(f'"{field}"')
    # the editor renders indentation as no-break spaces
    return json.loads(pane.inner_text().replace("\xa0", " "))


def test_register_then_me_in_the_explorer(
    server: Server, browser: Browser, redis_server: redis.Redis
) -> None:
    # server before browser: the browser closes its keep-alive connections before gunicorn stops
    username = f"explorer_{secrets.token_hex(4)}"
    page = browser.new_page()
    response = page.goto(server.base_url + "/graphql")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]

    run_in_editor(page, REGISTER % username)
    registered = result_of(page, "register")["data"]["register"]
    assert registered["errors"] is None and registered["user"]["username"] == username

    [qid] = [c for c in browser.context.cookies(server.base_url) if c["name"] == "qid"]
    assert qid["httpOnly"] is True and qid["sameSite"] == "Lax"
    assert "qid" not in page.evaluate("document.cookie")  # HttpOnly: scripts never see it
    assert redis_server.exists(f"sess:{qid['value']}")

    run_in_editor(page, ME)
    me = result_of(page, "me")["data"]["me"]
    assert me == {"id": registered["user"]["id"], "username": username}

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-me.png"))
    assert page.evaluate("window.__cspViolations") == []
    assert browser.outside == [], f"requests left 127.0.0.1: {browser.outside}"
    assert browser.problems == []
