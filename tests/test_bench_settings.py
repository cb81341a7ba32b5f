"""The benchmark starts every Python target with the product's own server settings."""

from __future__ import annotations

import runpy

from bench.targets import PROJECT, GranianSettings, GunicornSettings
from granian_server import read_settings


def test_granian_targets_take_granian_servers_defaults() -> None:
    product = read_settings({})
    bench = GranianSettings.from_product(None)
    assert bench.blocking_threads == product.shared.threads
    assert bench.backpressure == product.backpressure
    assert bench.runtime_threads == product.runtime_threads
    assert bench.runtime_mode == product.runtime_mode.value
    assert GranianSettings.from_product(3).blocking_threads == 3


def test_gunicorn_targets_take_gunicorn_confs_settings() -> None:
    conf = runpy.run_path(str(PROJECT / "gunicorn.conf.py"))
    bench = GunicornSettings.from_product(None, None)
    assert (bench.worker_class, bench.threads) == (conf["worker_class"], conf["threads"])
    assert bench.keepalive == conf["keepalive"]
