"""The security headers, set on the WSGI header list, answer as the after_request hook did.

The hook set them through werkzeug's ``Headers`` (each ``set`` replacing every header of its
name) and ``add_vary``; ``web.security.add_security_headers`` works on the list the answer
starts with. For any header list, both leave the same headers (order aside).
"""

from __future__ import annotations

from flask import Response
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from infra.headers import add_vary
from web.security import add_security_headers, is_json

VALUES = {
    "Content-Type": [
        "application/json",
        "application/json; charset=utf-8",
        "Application/GraphQL-Response+JSON",
        "text/html; charset=utf-8",
    ],
    "Vary": ["Origin", "cookie", "Accept-Encoding, Cookie", "Origin, Accept"],
    "Cache-Control": ["public, max-age=60", "no-cache"],
    "X-Content-Type-Options": ["sniff"],
    "Strict-Transport-Security": ["max-age=1"],
    "X-Request-Id": ["abc"],
}
HEADER = st.sampled_from(sorted(VALUES)).flatmap(
    lambda name: st.tuples(st.sampled_from([name, name.lower()]), st.sampled_from(VALUES[name]))
)


def as_the_hook_did(headers: list[tuple[str, str]], secure: bool) -> list[tuple[str, str]]:
    """The replaced after_request hook, on werkzeug's Headers."""
    response = Response()
    response.headers = Headers(headers)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if is_json(response.headers.get("Content-Type")):
        response.headers["Cache-Control"] = "no-store"
        add_vary(response, "Cookie")
    if secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response.headers.to_wsgi_list()


def canonical(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((name.lower(), value) for name, value in headers)


@given(headers=st.lists(HEADER, max_size=7), secure=st.booleans())
def test_the_list_gets_the_headers_the_hook_set(
    headers: list[tuple[str, str]], secure: bool
) -> None:
    on_the_list = list(headers)
    add_security_headers(on_the_list, secure)
    assert canonical(on_the_list) == canonical(as_the_hook_did(headers, secure))


def test_a_json_answer_is_not_cached_and_varies_by_cookie() -> None:
    headers = [("Content-Type", "application/json"), ("Vary", "Origin")]
    add_security_headers(headers, secure=True)
    assert canonical(headers) == [
        ("cache-control", "no-store"),
        ("content-type", "application/json"),
        ("strict-transport-security", "max-age=31536000"),
        ("vary", "Origin, Cookie"),
        ("x-content-type-options", "nosniff"),
    ]
