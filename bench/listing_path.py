"""The listings' and createPost's SQL path, in-process: the product against raw psycopg.

`python -m bench.listing_path [--base REF] [--batches 40] [--size 50] [--spy TARGET:WORKLOAD]`

Like bench/request_path.py (whose loaders it reuses), but on PostgreSQL and for the
workloads that touch the database: `posts { id title }` and `posts { id title creator
{ username } }` over 20 seeded posts, and `createPost` logged in. Targets: *product* (this
tree), *base* (the tree at REF), *flask* (bench/flask_floor_app.py: the same query through
one raw psycopg autocommit connection, tuples to dicts, msgspec JSON). Each target's WSGI
callable is called in interleaved batches, the order rotating; the table gives the minimum
and the median of the batches in µs per request. The posts createPost adds are deleted
after each of its batches (untimed), so the listings always see the seeded 20.

The database: `LISTING_DATABASE_URL` when set (its tables are dropped and migrated afresh),
else a scratch database `bench_listing_path` on the shared server (127.0.0.1:5432),
dropped afterwards. Production settings, a private redis-server.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from bench.request_path import (
    SECRET,
    Target,
    base_tree,
    batch,
    call,
    environ_for,
    load_flask_floor,
    load_product,
    log_in,
    private_workspace,
    report,
    spy,
)
from bench.services import Postgres, PrivateRedis

SCRATCH_DATABASE = "bench_listing_path"
SEEDED = 20
WORKLOADS = {
    "posts": "{ posts { id title } }",
    "posts_creator": "{ posts { id title creator { username } } }",
    "create_post": 'mutation { createPost(title: "bench post") { id title } }',
}
Samples = dict[tuple[str, str], list[float]]


def seed(url: str) -> int:
    """20 posts by the bench user, 1 ms apart; the highest seeded post id."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM post")
        row = conn.execute('SELECT id FROM "user" ORDER BY id LIMIT 1').fetchone()
        assert row is not None, "log in first: the posts need a creator"
        conn.execute(
            "INSERT INTO post (title, creator_id, created_at, updated_at)"
            " SELECT 'post ' || i, %s, t, t FROM generate_series(1, %s) AS i,"
            " LATERAL (SELECT date_trunc('milliseconds', now()) + i * interval '1 ms') AS m(t)",
            (row[0], SEEDED),
        )
        top = conn.execute("SELECT max(id) FROM post").fetchone()
    assert top is not None
    return int(top[0])


def trim(url: str, max_id: int) -> None:
    """Delete the posts createPost added."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM post WHERE id > %s", (max_id,))


def check(target: Target, templates: dict[str, dict[str, Any]]) -> None:
    """Each target answers each workload as the benchmark expects."""
    for workload, template in templates.items():
        data = msgspec.json.decode(call(target, template))["data"]
        if workload == "create_post":
            assert data["createPost"]["title"] == "bench post", (target.name, data)
            continue
        assert len(data["posts"]) == SEEDED, (target.name, workload, data)
        if workload == "posts_creator":
            assert data["posts"][0]["creator"]["username"], (target.name, data)


def measure(
    targets: list[Target], templates: dict[str, dict[str, Any]], args: Any, reset: Any
) -> Samples:
    """Interleaved batches: per target and workload, the µs per request of each batch."""
    samples: Samples = {}
    pairs = [(t, w) for w in templates for t in targets]
    for t, w in pairs:
        batch(t, templates[w], args.size)  # warm-up: caches, connections, first imports
        reset()
    for i in range(args.batches):
        shift = i % len(pairs)
        for target, workload in pairs[shift:] + pairs[:shift]:
            micros = batch(target, templates[workload], args.size)
            samples.setdefault((target.name, workload), []).append(micros)
            if workload == "create_post":
                reset()
    return samples


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=None, help="git ref to compare with (column 'base')")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=50, help="requests per batch")
    parser.add_argument("--spy", default=None, help="TARGET:WORKLOAD to profile with py-spy")
    parser.add_argument("--seconds", type=float, default=10)
    return parser.parse_args()


def run(args: argparse.Namespace, redis: PrivateRedis, database_url: str, work: Path) -> None:
    """Load the targets, seed, check them, then measure (or profile) and print."""
    env = {
        "APP_ENV": "production", "SECRET_KEY": SECRET, "REDIS_URL": redis.url,
        "DATABASE_URL": database_url, "INSTANCE_PATH": str(work),
        "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024", "ARGON2_PARALLELISM": "1",
    }  # fmt: skip
    targets = [load_product("product", Path(__file__).resolve().parent.parent, env, True)]
    if args.base:
        targets.append(load_product("base", base_tree(args.base, work), env, migrate=False))
    os.environ["FLOOR_DATABASE_URL"] = database_url
    targets.append(load_flask_floor(redis.url))
    cookie = log_in(targets[0])
    max_id = seed(database_url)
    templates = {
        w: environ_for(q, cookie if w == "create_post" else None) for w, q in WORKLOADS.items()
    }
    for target in targets:
        check(target, templates)
        trim(database_url, max_id)
    if args.spy:
        name, _, workload = args.spy.partition(":")
        spy(
            next(t for t in targets if t.name == name), templates[workload or "posts"], args.seconds
        )
        trim(database_url, max_id)
        return
    samples = measure(targets, templates, args, lambda: trim(database_url, max_id))
    report(samples, [t.name for t in targets], args, WORKLOADS)


def main() -> int:
    """Run against a private redis-server and the chosen (or a scratch) database."""
    args = parse_args()
    postgres = Postgres()
    own_url = os.environ.get("LISTING_DATABASE_URL")
    database_url = own_url or postgres.recreate(SCRATCH_DATABASE)
    try:
        if own_url:
            with psycopg.connect(own_url, autocommit=True) as conn:
                conn.execute('DROP TABLE IF EXISTS post, "user", alembic_version CASCADE')
        with private_workspace("listing-path-") as (redis, work):
            run(args, redis, database_url, work)
    finally:
        if not own_url:
            postgres.drop(SCRATCH_DATABASE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
