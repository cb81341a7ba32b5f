"""Vary is built by string work: each field once, whatever its case, order kept."""

from __future__ import annotations

from flask import Response

from infra.headers import add_vary


def test_add_vary_appends_each_field_once() -> None:
    response = Response(b"{}", mimetype="application/json")
    add_vary(response, "Origin")
    add_vary(response, "Cookie")
    add_vary(response, "cookie")
    add_vary(response, "Origin")
    assert response.headers.getlist("Vary") == ["Origin, Cookie"]


def test_add_vary_keeps_what_was_there() -> None:
    response = Response(b"{}", headers={"Vary": "Accept-Encoding"})
    add_vary(response, "Cookie")
    assert response.headers["Vary"] == "Accept-Encoding, Cookie"
    assert response.vary.as_set() == {"accept-encoding", "cookie"}


def test_add_vary_reads_every_vary_header() -> None:
    response = Response(b"{}", headers=[("Vary", "Accept-Encoding"), ("Vary", "Origin")])
    add_vary(response, "Cookie")
    assert response.vary.as_set() == {"accept-encoding", "origin", "cookie"}
