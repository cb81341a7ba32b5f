"""The README's curl walkthrough, driven by real curl with a cookie jar against gunicorn."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.processes import gunicorn
from tests.support import app_env

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


class Curl:
    """curl -b jar -c jar, as a user would type it."""

    def __init__(self, base_url: str, jar: Path) -> None:
        self.base_url = base_url
        self.jar = jar

    def run(self, *args: str) -> tuple[int, str]:
        """Run curl; returns the HTTP status and the body."""
        out = subprocess.run(
            ["curl", "-s", "-b", str(self.jar), "-c", str(self.jar), "-w", "\n%{http_code}", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        body, _, status = out.rpartition("\n")
        return int(status), body

    def gql(self, query: str, raw: str | None = None) -> tuple[int, Any]:
        """POST a GraphQL operation as curl would."""
        data = raw if raw is not None else json.dumps({"query": query})
        status, body = self.run(
            "-H", "content-type: application/json", "--data", data, f"{self.base_url}/graphql"
        )
        return status, json.loads(body)


def jar_cookie(jar: Path) -> str:
    lines = [line.split("\t") for line in jar.read_text().splitlines() if "\tqid\t" in line]
    return lines[-1][-1] if lines else ""


def test_walkthrough(tmp_path: Path, redis_url: str) -> None:
    database_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    env = app_env(tmp_path, database_url, redis_url, ARGON2_MEMORY_COST="8192")
    with gunicorn(env, tmp_path) as server:
        alice = Curl(server.base_url, tmp_path / "alice.jar")
        register = (
            'mutation { register(options: {username: "alice", password: "correct horse"})'
            " { errors { field message } user { id username } } }"
        )
        status, body = alice.gql(register)
        assert status == 200 and body["data"]["register"]["user"]["username"] == "alice"
        cookie = jar_cookie(alice.jar)
        assert len(cookie) == 22
        assert alice.gql("{ me { username } }")[1] == {"data": {"me": {"username": "alice"}}}
        status, me = alice.run(f"{server.base_url}/me")
        assert json.loads(me)["session"]["active"] is True
        created = alice.gql('mutation { createPost(title: "first post") { id title } }')[1]
        post_id = created["data"]["createPost"]["id"]
        posts = alice.gql("{ posts(limit: 10) { id title creator { username } } }")[1]
        assert posts["data"]["posts"] == [
            {"id": post_id, "title": "first post", "creator": {"username": "alice"}}
        ]
        mallory = Curl(server.base_url, tmp_path / "mallory.jar")
        mallory.gql(register.replace("alice", "mallory"))
        denied = mallory.gql(f"mutation {{ deletePost(id: {post_id}) }}")[1]
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        wrong = mallory.gql(register.replace("register", "login").replace("correct", "wrong"))[1]
        assert wrong["data"]["login"]["errors"][0]["field"] == "password"
        assert alice.gql("mutation { logout }")[1] == {"data": {"logout": True}}
        assert jar_cookie(alice.jar) == ""
        replay = Curl(server.base_url, tmp_path / "replay.jar")
        status, body = replay.run("-H", f"Cookie: qid={cookie}", f"{server.base_url}/me")
        assert json.loads(body)["user"] is None
        tampered = cookie[:-1] + ("x" if cookie[-1] != "x" else "y")
        status, body = replay.run("-H", f"Cookie: qid={tampered}", f"{server.base_url}/me")
        assert status == 200 and json.loads(body)["user"] is None
        status, body = alice.gql("", raw="{not json")
        assert status == 400 and body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
