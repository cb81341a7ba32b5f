"""The benchmark starts every Python target with the product's own server settings."""

from __future__ import annotations

import os

from bench.targets import GranianSettings, GunicornSettings, settings_module
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
    environment = dict(os.environ)
    conf = settings_module("gunicorn.conf.py")
    # gunicorn.conf.py made a metrics directory for its workers: none of it may stay in
    # this process, whose later servers would share (and remove) it
    assert dict(os.environ) == environment
    bench = GunicornSettings.from_product(None, None)
    assert (bench.worker_class, bench.threads) == (conf["worker_class"], conf["threads"])
    assert bench.keepalive == conf["keepalive"]
