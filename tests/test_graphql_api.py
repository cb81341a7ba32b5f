"""The seed's GraphQL API: names, shapes and behaviour its clients rely on."""

from __future__ import annotations

import time

from tests.helpers import CREATE_POST, ME, GraphQLClient, cookie_value


def test_hello(gql: GraphQLClient) -> None:
    assert gql("{ hello }") == {"data": {"hello": "hello world"}}


def test_register_returns_user_and_logs_in(gql: GraphQLClient) -> None:
    before = int(time.time() * 1000)
    payload = gql.register("alice", "correct horse")
    assert payload["errors"] is None
    user = payload["user"]
    assert user["username"] == "alice"
    assert isinstance(user["id"], int)
    assert before - 1000 <= int(user["createdAt"]) <= int(time.time() * 1000) + 1000
    assert user["createdAt"] == user["updatedAt"]
    assert gql.me() == {"id": user["id"], "username": "alice"}


def test_register_field_errors_are_data_without_cookie(gql: GraphQLClient) -> None:
    cases = [
        ("al", "correct horse", "username"),
        ("a" * 41, "correct horse", "username"),
        ("bad name!", "correct horse", "username"),
        ("bob", "short", "password"),
        ("bob", "x" * 1025, "password"),
    ]
    for username, password, field in cases:
        response = gql.post(
            "mutation R($u: String!, $p: String!) { register(options: {username: $u, password: $p})"
            " { errors { field message } user { id } } }",
            u=username,
            p=password,
        )
        body = response.get_json()
        assert "errors" not in body, body
        assert body["data"]["register"]["user"] is None
        assert [e["field"] for e in body["data"]["register"]["errors"]] == [field]
        assert "Set-Cookie" not in response.headers
    assert cookie_value(gql.client) is None


def test_usernames_are_unique_without_regard_to_case(gql: GraphQLClient, app) -> None:
    assert gql.register("Alice")["user"]
    other = GraphQLClient(app.test_client())
    payload = other.register("aLICE")
    assert payload["user"] is None
    assert payload["errors"] == [{"field": "username", "message": "username already taken"}]


def test_login_and_wrong_credentials_look_alike(gql: GraphQLClient, app) -> None:
    gql.register("alice", "correct horse")
    fresh = GraphQLClient(app.test_client())
    wrong_password = fresh.login("alice", "wrong horse!")
    unknown_user = fresh.login("nobody", "wrong horse!")
    assert wrong_password == unknown_user
    assert wrong_password["user"] is None
    assert cookie_value(fresh.client) is None
    ok = fresh.login("ALICE", "correct horse")
    assert ok["user"]["username"] == "alice"
    assert fresh.me() == {"id": ok["user"]["id"], "username": "alice"}


def test_logout_returns_true_even_when_anonymous(gql: GraphQLClient) -> None:
    response = gql.post("mutation { logout }")
    assert response.get_json() == {"data": {"logout": True}}
    assert "Set-Cookie" not in response.headers


def test_create_post_needs_login(gql: GraphQLClient) -> None:
    body = gql(CREATE_POST, expect_errors=True, title="hello")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == "not authenticated"
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


def test_posts_newest_first_with_limit_cursor_and_batched_creator(gql: GraphQLClient, app) -> None:
    user = gql.register()["user"]
    for i in range(5):
        gql(CREATE_POST, title=f"post {i}")
        time.sleep(0.002)
    query = (
        "query P($limit: Int, $cursor: String) { posts(limit: $limit, cursor: $cursor)"
        " { id title createdAt creatorId creator { id username } } }"
    )
    first = gql(query, limit=3)["data"]["posts"]
    assert [p["title"] for p in first] == ["post 4", "post 3", "post 2"]
    assert all(p["creator"] == {"id": user["id"], "username": "alice"} for p in first)
    rest = gql(query, limit=3, cursor=first[-1]["createdAt"])["data"]["posts"]
    assert [p["title"] for p in rest] == ["post 1", "post 0"]


def test_posts_limit_is_capped(gql: GraphQLClient, app) -> None:
    user_id = gql.register()["user"]["id"]
    from extensions import db
    from models import Post

    with app.app_context():
        db.session.add_all(Post(title=f"p{i}", creator_id=user_id) for i in range(105))
        db.session.commit()
    posts = gql("{ posts(limit: 1000) { id } }")["data"]["posts"]
    assert len(posts) == 100


def test_creator_is_batched_in_one_query(gql: GraphQLClient, app) -> None:
    from sqlalchemy import event

    from extensions import db

    for name in ("alice", "bob", "carol"):
        client = GraphQLClient(app.test_client())
        client.register(name)
        client(CREATE_POST, title=f"by {name}")
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        posts = gql("{ posts { title creator { username } } }")["data"]["posts"]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert {p["creator"]["username"] for p in posts} == {"alice", "bob", "carol"}
    user_queries = [s for s in statements if 'FROM "user"' in s or "FROM user" in s]
    assert len(user_queries) == 1, statements


def test_listing_reads_run_in_autocommit(gql: GraphQLClient, app) -> None:
    """No BEGIN and ROLLBACK around a listing: on PostgreSQL that is 1 round trip, not 3."""
    import sqlite3

    from sqlalchemy import event

    from extensions import db

    gql.register()
    gql(CREATE_POST, title="one")
    modes: list[bool] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        dbapi = conn.connection.dbapi_connection
        if isinstance(dbapi, sqlite3.Connection):
            modes.append(dbapi.isolation_level is None)
        else:
            modes.append(dbapi.autocommit)  # psycopg

    event.listen(engine, "before_cursor_execute", record)
    try:
        posts = gql("{ posts { title creator { username } } }")["data"]["posts"]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert posts == [{"title": "one", "creator": {"username": "alice"}}]
    assert modes == [True, True]  # the posts, then their creators


def test_post_by_id(gql: GraphQLClient) -> None:
    gql.register()
    post = gql(CREATE_POST, title="one")["data"]["createPost"]
    found = gql(
        "query P($id: Int!) { post(id: $id) { id title creator { username } } }", id=post["id"]
    )
    assert found["data"]["post"] == {
        "id": post["id"],
        "title": "one",
        "creator": {"username": "alice"},
    }
    assert gql("{ post(id: 999999) { id } }")["data"]["post"] is None
    assert gql("{ post(id: -1) { id } }")["data"]["post"] is None


def test_update_and_delete_only_by_creator(gql: GraphQLClient, app) -> None:
    gql.register("alice")
    post = gql(CREATE_POST, title="mine")["data"]["createPost"]
    mallory = GraphQLClient(app.test_client())
    mallory.register("mallory")
    update = "mutation U($id: Int!, $t: String) { updatePost(id: $id, title: $t) { id title } }"
    delete = "mutation D($id: Int!) { deletePost(id: $id) }"
    refused = (
        mallory(update, expect_errors=True, id=post["id"], t="pwned"),
        mallory(delete, expect_errors=True, id=post["id"]),
    )
    for body in refused:
        [error] = body["errors"]
        assert error["message"] == "not authorized"
        assert error["extensions"]["code"] == "FORBIDDEN"
    assert gql("{ posts { title } }")["data"]["posts"] == [{"title": "mine"}]
    assert gql(update, id=post["id"], t="changed")["data"]["updatePost"]["title"] == "changed"
    assert gql(update, id=424242, t="x")["data"]["updatePost"] is None
    assert gql(delete, id=post["id"])["data"]["deletePost"] is True
    assert gql("{ posts { id } }")["data"]["posts"] == []


def test_titles_round_trip_unicode_and_reject_control_characters(gql: GraphQLClient) -> None:
    gql.register()
    title = "naïve café 🚀 e\u0301 <script>alert(1)</script> ١٢"
    created = gql(CREATE_POST, title=title)["data"]["createPost"]
    assert created["title"] == title
    for bad in ("nul\x00byte", "bell\x07", "", "x" * 1001):
        body = gql(CREATE_POST, expect_errors=True, title=bad)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", bad


def test_me_is_null_when_anonymous(gql: GraphQLClient) -> None:
    assert gql(ME) == {"data": {"me": None}}
