"""CPU cost of the worst GraphQL documents within the limits: `python -m bench.documents`.

For each hostile shape, the document is grown until it just fits the limits, then lexed,
parsed and validated from a cold cache; the best of a few runs is printed in CPU ms
(``time.process_time``), with the outcome. "before" is the pipeline as it was (64 KiB body,
2,000 tokens, nothing checked before full validation); "after" is the product's executor
with its configured limits (GRAPHQL_MAX_LENGTH, _TOKENS, _SELECTIONS, _ALIASES).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from graphql import GraphQLError, Lexer, Source, TokenKind, parse, specified_rules, validate

from config import DevelopmentConfig
from graphql_runtime.executor import QueryExecutor, build_schema
from graphql_runtime.limits import SensitiveFieldOnceRule, depth_limit_rule

BODY_LIMIT = 64 * 1024
OLD_TOKENS = 2000


@dataclass
class Shape:
    """A document made of ``n`` repetitions of something."""

    name: str
    build: Callable[[int], str]


SHAPES = [
    Shape("duplicate hello", lambda n: "{ " + "hello " * n + "}"),
    Shape("duplicate posts { id }", lambda n: "{ " + "posts { id } " * n + "}"),
    Shape("duplicate post(id: 1) { id }", lambda n: "{ " + "post(id: 1) { id } " * n + "}"),
    Shape("aliases", lambda n: "{ " + " ".join(f"a{i}: hello" for i in range(n)) + " }"),
    Shape("directives", lambda n: "{ " + "hello @skip(if: false) " * n + "}"),
    Shape("inline fragments", lambda n: "{ " + "... on Query { posts { id } } " * n + "}"),
    Shape(
        "distinct fragments",
        lambda n: (
            "{ "
            + " ".join(f"...F{i}" for i in range(n))
            + " } "
            + " ".join(f"fragment F{i} on Query {{ posts {{ id }} }}" for i in range(n))
        ),
    ),
    Shape("operations", lambda n: " ".join(f"query Q{i} {{ posts {{ id }} }}" for i in range(n))),
    Shape(
        "variables",
        lambda n: (
            "query Q("
            + " ".join(f"$v{i}: Boolean!" for i in range(n))
            + ") { "
            + " ".join(f"hello @include(if: $v{i})" for i in range(n))
            + " }"
        ),
    ),
    Shape("comment", lambda n: "#" + "x" * (n * 64) + "\n{ hello }"),
    Shape("string", lambda n: '{ posts(cursor: "' + "x" * (n * 64) + '") { id } }'),
]


def token_count(query: str) -> int:
    """Tokens the parser would count (comments excluded)."""
    lexer, count = Lexer(Source(query)), 0
    try:
        while lexer.advance().kind != TokenKind.EOF:
            count += 1
    except GraphQLError:
        return count
    return count


def largest(shape: Shape, fits: Callable[[str], bool]) -> int:
    """How many repetitions the largest document of the shape that still fits has."""
    low, high = 1, 2
    while fits(shape.build(high)) and high < 100_000:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(shape.build(middle)) else (low, middle)
    return low


def cpu_ms(run: Callable[[str], str], query: str, repeat: int) -> tuple[float, str]:
    """Best CPU time of ``repeat`` runs on ``query``, in ms, and what the last run returned."""
    best, result = float("inf"), ""
    for _ in range(repeat):
        started = time.process_time()
        result = run(query)
        best = min(best, time.process_time() - started)
    return best * 1000, result


def before(schema_rules: tuple[object, ...]) -> Callable[[str], str]:
    """The old pipeline: parse up to 2,000 tokens, then validate everything."""
    schema = build_schema()

    def run(query: str) -> str:
        try:
            document = parse(query, max_tokens=OLD_TOKENS)
        except GraphQLError:
            return "refused (syntax/tokens)"
        errors = validate(schema, document, schema_rules)  # type: ignore[arg-type]
        return f"refused ({len(errors)} errors)" if errors else "accepted"

    return run


def after(executor: QueryExecutor) -> Callable[[str], str]:
    """The product's executor, from a cold cache."""

    def run(query: str) -> str:
        executor.cache = type(executor.cache)(1, 1)
        prepared = executor.prepare(query)
        if prepared.document is not None:
            return "accepted"
        message: str = prepared.errors[0]["message"]
        return "refused: " + message[:50]

    return run


def main() -> int:
    """Print CPU ms per worst-case document, before and after."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app = Flask(__name__)
    app.config.from_object(DevelopmentConfig({}))
    executor = QueryExecutor(app, build_schema())
    old = before((*specified_rules, depth_limit_rule(10), SensitiveFieldOnceRule))
    new = after(executor)

    def old_fits(query: str) -> bool:
        return len(query.encode()) < BODY_LIMIT and token_count(query) <= OLD_TOKENS

    def new_fits(query: str) -> bool:
        return len(query) <= executor.max_length and new(query) == "accepted"

    print(f"{'shape':32s} {'before ms':>9s} {'after ms':>9s}  after: outcome")
    for shape in SHAPES:
        old_ms, _ = cpu_ms(old, shape.build(largest(shape, old_fits)), args.repeat)
        count = largest(shape, new_fits)
        new_ms, outcome = cpu_ms(new, shape.build(count), args.repeat)
        print(f"{shape.name:32s} {old_ms:9.1f} {new_ms:9.1f}  {outcome}", flush=True)
        # the smallest refused document of the shape: what a refusal costs at most
        refuse_ms, refused = cpu_ms(new, shape.build(count + 1), args.repeat)
        print(f"{'  ... one more':32s} {'':9s} {refuse_ms:9.1f}  {refused}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
