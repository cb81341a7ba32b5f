"""A small keep-alive HTTP client for seeding, sanity checks and command counting."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

from tests.support import wait_for


class Client:
    """One keep-alive connection to a server on 127.0.0.1."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self, method: str, path: str, body: bytes | None = None, cookie: str | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """Send one request; return status, headers and body."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if cookie:
            headers["Cookie"] = cookie
        self.conn.request(method, path, body, headers)
        response = self.conn.getresponse()
        return response.status, response.headers, response.read()

    def graphql(self, body: bytes, cookie: str | None = None) -> tuple[int, Any, str | None]:
        """POST a body to /graphql; return status, decoded JSON and any new qid cookie."""
        status, headers, data = self.request("POST", "/graphql", body, cookie)
        return status, json.loads(data), qid_cookie(headers)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def qid_cookie(headers: http.client.HTTPMessage) -> str | None:
    """The ``qid=...`` pair from a response's Set-Cookie headers, if any."""
    for header in headers.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0]
        if pair.startswith("qid=") and len(pair) > 4:
            return pair
    return None


def gql_body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    """The JSON body of a GraphQL request."""
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    return json.dumps(payload, separators=(",", ":")).encode()


def wait_until_up(port: int, alive: Callable[[], bool], timeout: float = 60) -> None:
    """Poll ``{ hello }`` until the server answers; fail early if ``alive()`` turns false."""
    body = gql_body("{ hello }")

    def answers() -> bool:
        if not alive():
            raise RuntimeError(f"server on port {port} exited")
        client = Client(port, timeout=2)
        try:
            status, answer, _ = client.graphql(body)
        finally:
            client.close()
        return status == 200 and answer.get("data", {}).get("hello") == "hello world"

    not_yet = (OSError, http.client.HTTPException, ValueError)
    wait_for(f"server on port {port} answering", answers, timeout, 0.2, ignore=not_yet)
