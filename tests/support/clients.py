"""An HTTP client for real servers: a cookie jar, as curl -b/-c would keep one."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def remember_cookies(jar: dict[str, str], set_cookie_headers: list[str]) -> None:
    """Update a name -> value jar from Set-Cookie headers; an empty value deletes."""
    for header in set_cookie_headers:
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        if value:
            jar[name] = value
        else:
            jar.pop(name, None)


def with_cookies(headers: dict[str, str] | None, jar: dict[str, str]) -> dict[str, str]:
    """A copy of ``headers`` carrying the jar's cookies, as a browser would send them."""
    all_headers = dict(headers or {})
    if jar:
        all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
    return all_headers


class HttpClient:
    """A tiny HTTP client with a cookie jar, as curl -b/-c would be."""

    def __init__(self, base_url: str, timeout: float = 10) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send a request; returns status, headers and body, and keeps cookies."""
        all_headers = with_cookies(headers, self.cookies)
        req = urllib.request.Request(self.base_url + path, body, all_headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                status, got, data = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, data = error.code, error.headers, error.read()
        remember_cookies(self.cookies, got.get_all("Set-Cookie") or [])
        # Title-Case names: servers differ in case (Granian sends lower case), tests look up one
        return status, {name.title(): value for name, value in got.items()}, data

    def graphql(self, query: str, **variables: object) -> tuple[int, dict[str, Any]]:
        """POST a GraphQL operation as JSON; returns status and decoded body."""
        body = json.dumps({"query": query, "variables": variables}).encode()
        status, _, data = self.request(
            "POST", "/graphql", body, {"Content-Type": "application/json"}
        )
        return status, json.loads(data)
