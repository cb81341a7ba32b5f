"""Metrics in one process: the events are counted where they are decided, /metrics is open in
development and only to METRICS_ALLOW in production; /livez checks nothing."""

from __future__ import annotations

import random

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest

from blueprints.metrics import allowed
from config import ConfigError, DevelopmentConfig, ProductionConfig
from infra import metrics, tracing
from tests.conftest import make_config
from tests.helpers import LOGIN, ME, GraphQLClient
from tests.support import wait_for

DOWN_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def sample(name: str, **labels: str) -> float:
    """A metric's current value in this process (0 when never counted)."""
    metrics.flush()
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_rate_limit_refusals_are_counted_by_action(app_factory) -> None:
    app = app_factory()
    app.config["RATE_LIMIT_LOGIN_IP"] = "2/60"
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    client = GraphQLClient(test_client)
    before = sample("rate_limit_refusals_total", action="login")
    failed = sample("logins_total", outcome="failed")
    statuses = [
        client.post(LOGIN, username="bob", password="whatever pw", expect_errors=True).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert sample("rate_limit_refusals_total", action="login") == before + 1
    assert sample("logins_total", outcome="failed") == failed + 2


def test_redis_outage_is_counted(app_factory) -> None:
    app = app_factory(REDIS_URL=DOWN_REDIS)
    client = app.test_client()
    client.set_cookie("qid", "A" * 22)
    before = sample("backing_service_outages_total", service="redis")
    response = client.post("/graphql", json={"query": ME})
    assert response.status_code == 503
    assert sample("backing_service_outages_total", service="redis") == before + 1


def test_database_outage_is_counted(app_factory, tmp_path) -> None:
    missing = f"sqlite:///{tmp_path / 'no-such-dir' / 'app.sqlite'}"
    app = app_factory(SQLALCHEMY_DATABASE_URI=missing, SQLALCHEMY_ENGINE_OPTIONS={})
    before = sample("backing_service_outages_total", service="database")
    response = app.test_client().post("/graphql", json={"query": "{ posts { id } }"})
    assert response.status_code == 503
    assert sample("backing_service_outages_total", service="database") == before + 1


def test_requests_are_timed_by_route_not_by_path(client) -> None:
    labels = {"route": "unmatched", "method": "GET", "status": "404"}
    before = sample("http_request_duration_seconds_count", **labels)
    assert client.get("/no/such/path/1").status_code == 404
    assert client.get("/no/such/path/2").status_code == 404
    assert sample("http_request_duration_seconds_count", **labels) == before + 2
    route = {"route": "/sessions/<session_id>", "method": "DELETE", "status": "401"}
    before = sample("http_request_duration_seconds_count", **route)
    assert client.delete("/sessions/abc").status_code == 401
    assert sample("http_request_duration_seconds_count", **route) == before + 1


def test_metrics_answer_anyone_in_development(client) -> None:
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    assert b"# TYPE http_request_duration_seconds histogram" in response.data


@pytest.mark.parametrize(
    ("address", "status"), [("127.0.0.1", 200), ("::1", 200), ("10.0.0.7", 404)]
)
def test_production_serves_metrics_to_loopback_only_by_default(app_factory, address, status):
    client = app_factory(ProductionConfig).test_client()
    client.environ_base["REMOTE_ADDR"] = address
    assert client.get("/metrics").status_code == status


def test_production_allow_list_admits_the_scraper_network(app_factory) -> None:
    app = app_factory(ProductionConfig, env={"METRICS_ALLOW": "10.0.0.0/8"})
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.20.30.40"
    assert client.get("/metrics").status_code == 200
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    assert client.get("/metrics").status_code == 404


def test_a_malformed_allow_list_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        make_config("sqlite://", DOWN_REDIS, DevelopmentConfig, env={"METRICS_ALLOW": "10.0.0/33"})


def test_livez_answers_while_redis_is_down(app_factory) -> None:
    client = app_factory(REDIS_URL=DOWN_REDIS).test_client()
    live = client.get("/livez")
    assert live.status_code == 200 and live.get_json() == {"ok": True}
    health = client.get("/healthz")
    assert health.status_code == 503 and "redis" in health.get_json()["down"]


def test_operation_names_past_the_bound_are_reported_as_other(monkeypatch) -> None:
    monkeypatch.setattr(metrics, "_operation_names", set())
    monkeypatch.setattr(metrics, "MAX_OPERATION_NAMES", 2)
    labels = [metrics.operation_label(name) for name in ("A", "B", "C", "A", "D")]
    assert labels == ["A", "B", "other", "A", "other"]


def test_a_scrape_reads_the_workers_files_when_multiprocess(monkeypatch, tmp_path) -> None:
    # what a worker's scrape does: only the files count (none here), not this process's values
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    body, content_type = metrics.exposition("")
    assert content_type.startswith("text/plain") and b"http_request_duration" not in body
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    metrics.mark_process_dead(4242)
    assert not (tmp_path / "gauge_livesum_4242.db").exists()


def test_an_address_that_is_not_one_is_not_allowed() -> None:
    assert not allowed("unix-socket", ["0.0.0.0/0"])
    assert allowed("10.1.2.3", ["10.0.0.0/8"])


def test_otel_sdk_disabled_keeps_tracing_off() -> None:
    configured = {"OTEL_TRACES_EXPORTER": "console"}
    assert tracing.enabled(configured)
    assert not tracing.enabled({**configured, "OTEL_SDK_DISABLED": "true"})
    assert not tracing.enabled({})


@pytest.mark.parametrize("seed", range(5))
def test_queued_observations_are_recorded_as_observing_each_would(seed: int) -> None:
    """Bulk recording, bucket by bucket, against prometheus_client's own observe()."""
    rng = random.Random(seed)
    bounds = metrics.LATENCY_BUCKETS
    amounts = [rng.choice([*bounds, rng.uniform(0, 12), rng.expovariate(500)]) for _ in range(300)]
    registry = CollectorRegistry()
    one_by_one = Histogram("each", "", ["k"], buckets=bounds, registry=registry).labels("x")
    in_bulk = Histogram("bulk", "", ["k"], buckets=bounds, registry=registry).labels("x")
    for amount in amounts:
        one_by_one.observe(amount)
    for flushed in (amounts[:100], amounts[100:]):  # two flushes
        tally = metrics.new_tally()
        for amount in flushed:
            metrics.add_to_tally(tally, amount)
        metrics.record_tally(in_bulk, tally)
    assert list(metrics.BOUNDS) == in_bulk._upper_bounds
    text = generate_latest(registry).decode()
    each, bulk = _samples(text, "each"), _samples(text, "bulk")
    assert bulk.pop("_sum") == pytest.approx(each.pop("_sum"), rel=1e-12)  # in another order
    assert each == bulk  # every bucket, +Inf and the count, exactly
    assert len(each) == len(bounds) + 3


def _samples(exposition: str, name: str) -> dict[str, float]:
    """A histogram child's samples: name suffix and labels -> value (created: 0)."""
    found = {}
    for line in exposition.splitlines():
        if line.startswith(name):
            key, _, value = line.removeprefix(name).rpartition(" ")
            suffix = key.partition("{")[0]
            found[suffix if suffix in ("_sum", "_created") else key] = float(value)
    found["_created"] = 0.0  # when each was made, not what it counted
    return found


def test_the_flusher_records_tallied_requests_without_a_scrape(monkeypatch) -> None:
    """As in a server's worker (tallied), here in one process's registry."""
    monkeypatch.setattr(metrics._pending, "tallied", True)
    labels = {"route": "/flusher-test", "method": "GET", "status": "200"}
    name = "http_request_duration_seconds_count"
    metrics.observe_request("/flusher-test", "GET", "200", 0.001, None)
    assert REGISTRY.get_sample_value(name, labels) is None  # tallied, not yet written
    wait_for("the flusher thread", lambda: REGISTRY.get_sample_value(name, labels) == 1.0)


def test_one_process_writes_each_request_at_once() -> None:
    labels = {"route": "/at-once", "method": "GET", "status": "200"}
    metrics.observe_request("/at-once", "GET", "200", 0.001, None)
    assert REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) == 1.0
