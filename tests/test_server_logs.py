"""Each production server started as the README deploys it, with default settings, prints
nothing but JSON lines: its own lines, the migrations the master runs, and an access line
with the request id for every request (issue 12, defect 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.helpers import ME, REGISTER
from tests.support import HttpClient, RedisProcess, app_server, stop

pytestmark = pytest.mark.timeout(120)
# settings a developer's shell may hold; the test wants the product's defaults
DEFAULTED = ("AUTO_MIGRATE", "LOG_FORMAT", "LOG_LEVEL", "ACCESS_LOG", "GUNICORN_ACCESS_LOG")
OWN_LOGGERS = {"gunicorn": "gunicorn.error", "granian": "_granian"}


def test_every_line_is_json_and_requests_carry_their_id(
    server_kind: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": TEST_SECRET,
        "REDIS_URL": private_redis.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",  # AUTO_MIGRATE: master migrates
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
    }
    with app_server(server_kind, env, tmp_path, drop=DEFAULTED) as server:
        client = HttpClient(server.base_url)
        for number, query in enumerate(("{ hello }", ME)):
            body = json.dumps({"query": query}).encode()
            headers = {"Content-Type": "application/json", "X-Request-Id": f"probe-{number}"}
            assert client.request("POST", "/graphql", body, headers)[0] == 200
        status, answer = client.graphql(REGISTER, username="alice", password="correct horse")
        assert status == 200 and answer["data"]["register"]["user"], answer
        stop(server.process)
    lines = [line for line in server.log().splitlines() if line.strip()]

    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}\n" + "\n".join(lines))
    access = [r for r in records if r["logger"] == "access" and r["path"] == "/graphql"]
    assert [r["requestId"] for r in access[:2]] == ["probe-0", "probe-1"], access
    assert len(access) == 3 and access[2]["requestId"] not in ("", "-"), access
    messages = [r["message"] for r in records]
    assert any(m.startswith("Running upgrade") for m in messages), messages  # INFO kept
    assert any(r["logger"] == OWN_LOGGERS[server_kind] for r in records), records
