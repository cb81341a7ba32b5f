"""Routing once per request line (web/routing.py): every answer as plain Flask gives it.

Plain Flask, with the same routes and views, is the oracle: each generated request goes
to both, twice (the second time the product answers from what it remembered), and the
status, the headers that routing decides (Location, Allow) and the body must agree. The
views echo what routing gave them: the rule, the arguments, the host and a built URL.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder

from web.application import Application
from web.routing import MAX_REMEMBERED_TEXT, MAX_ROUTES, MatchOnce, RouteMemory, bound_once

PATHS = ["/graphql", "/graphql/", "/me", "/me/", "/items/7", "/items/x", "/dir", "/dir/"]
PATHS += ["/", "/nowhere", "/items/%C3%A9", "//me", "/dir/sub/../"]
METHODS = ["GET", "POST", "HEAD", "OPTIONS", "DELETE", "PROPFIND"]
HOSTS = ["localhost", "LOCALHOST:80", "example.test:8080", "evil.test", "xn--bcher-kva.test"]
QUERIES = ["", "a=1", "query=%7B+hello+%7D", "x=" + "y" * 40]
SCRIPT_ROOTS = ["", "/api"]


def build(app_class: type[Flask], trusted_hosts: list[str] | None = None) -> Flask:
    """An app with a few kinds of route: methods, arguments, strict slashes."""
    app = app_class(__name__)
    app.config["TRUSTED_HOSTS"] = trusted_hosts

    def echo(**arguments: Any) -> ResponseReturnValue:
        rule = request.url_rule
        built = url_for(request.endpoint or "graphql", **arguments, _external=True)
        answer = {"rule": rule.rule if rule else None, "args": arguments, "host": request.host}
        answer |= {"built": built, "viewArgs": dict(request.view_args or {})}
        if request.view_args is not None:  # changed by one request, unchanged for the next
            request.view_args["changed"] = True
        return jsonify(answer)

    app.add_url_rule("/graphql", "graphql", echo, methods=["GET", "POST"])
    app.add_url_rule("/me", "me", echo)
    app.add_url_rule("/items/<int:item_id>", "item", echo)
    app.add_url_rule("/dir/", "dir", echo)
    return app


Line = tuple[str, str, str, str, str]  # method, path, host, query string, script root


def answer(app: Flask, line: Line) -> Any:
    """What routing decided for one request: status, Location, Allow and the body."""
    method, path, host, query, root = line
    environ = EnvironBuilder(path=path, method=method, query_string=query).get_environ()
    environ |= {"HTTP_HOST": host, "SCRIPT_NAME": root}
    with app.test_client() as client:
        response = client.open(environ)
        return response.status_code, response.location, response.allow.to_header(), response.data


requests = st.tuples(
    st.sampled_from(METHODS),
    st.sampled_from(PATHS),
    st.sampled_from(HOSTS),
    st.sampled_from(QUERIES),
    st.sampled_from(SCRIPT_ROOTS),
)


@pytest.mark.parametrize("trusted_hosts", [None, ["localhost", "example.test"]])
@settings(max_examples=150, deadline=None)
@given(lines=st.lists(requests, min_size=1, max_size=8))
def test_every_answer_is_plain_flasks(trusted_hosts: list[str] | None, lines: list[Line]) -> None:
    plain, product = build(Flask, trusted_hosts), build(Application, trusted_hosts)
    for line in lines + lines:  # the second pass answers from memory
        assert answer(product, line) == answer(plain, line)


def test_a_line_is_bound_once_and_its_arguments_are_copied() -> None:
    app = build(Application)
    seen = [answer(app, ("GET", "/items/7", "localhost", "", "")) for _ in range(3)]
    assert seen[0] == seen[1] == seen[2]
    assert b'"args":{"item_id":7}' in seen[2][3]


def test_an_untrusted_host_is_refused_every_time() -> None:
    app = build(Application, ["localhost"])
    assert answer(app, ("GET", "/me", "localhost", "", ""))[0] == 200
    for _ in range(2):
        assert answer(app, ("GET", "/me", "evil.test", "", ""))[0] == 400


def test_a_match_asked_for_another_line_is_not_the_remembered_one() -> None:
    url_map = Map([Rule("/a", endpoint="a"), Rule("/b/<int:n>", endpoint="b")])
    once = bound_once(url_map.bind("localhost", path_info="/a"))
    assert once.match() == ("a", {})
    assert once.match("/b/3") == ("b", {"n": 3})
    assert once.match() == ("a", {})
    assert once.match(return_rule=True)[0].rule == "/a"


def test_the_memory_is_bounded() -> None:
    memory, url_map = RouteMemory(), Map([Rule("/", endpoint="root")])
    for n in range(MAX_ROUTES * 2 + 5):
        key, bound = memory.recall({"PATH_INFO": f"/{n}", "REQUEST_METHOD": "GET"})
        assert key is not None and bound is None
        memory.keep(key, url_map.bind("localhost"), "localhost")
        assert len(memory) <= MAX_ROUTES
    assert memory.recall({"PATH_INFO": f"/{MAX_ROUTES * 2 + 4}", "REQUEST_METHOD": "GET"})[1]


def test_long_lines_are_not_remembered() -> None:
    memory = RouteMemory()
    long_query = {"PATH_INFO": "/graphql", "QUERY_STRING": "q=" + "x" * MAX_REMEMBERED_TEXT}
    assert memory.recall(long_query) == (None, None)
    assert isinstance(bound_once(Map([]).bind("localhost")), MatchOnce)
