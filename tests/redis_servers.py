"""Real Redis topologies for tests: servers, a replica, sentinels and a cluster.

Every server is Debian's redis-server started on free loopback ports in a temp directory,
and stopped (or already killed) when its context exits. Nothing here touches the shared
Redis on 6379.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support import REDIS_SERVER, RedisProcess, free_port, wait_for
from tests.tls import Certificate

__all__ = [
    "PLAIN",
    "REDIS_CLI",
    "REDIS_DOWN",
    "REDIS_SERVER",
    "SERVICE",
    "Cluster",
    "RedisProcess",
    "Security",
    "SentinelGroup",
    "redis_cluster",
    "redis_process",
    "require_binary",
    "sentinel_group",
]
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
SERVICE = "seedsvc"


def require_binary(path: str, package: str) -> None:
    """Skip (fail under CI, whose .ci/run installs it) when a Debian binary is missing."""
    if Path(path).exists() or shutil.which(path):
        return
    reason = f"{path} not found: install the Debian package {package}"
    print(reason)
    if os.environ.get("CI"):
        pytest.fail(reason + " (.ci/run should have)")
    pytest.skip(reason)


REDIS_DOWN = (redis.RedisError, OSError)  # while a server starts or fails over: "not yet"


@dataclass(frozen=True)
class Security:
    """A password and/or TLS for a server (or, for sentinels, for the sentinels themselves)."""

    password: str | None = None  # written double-quoted into the config: no quotes in it
    tls: Certificate | None = None

    def server_lines(self, port: int) -> list[str]:
        """Config lines: listen on ``port`` (TLS only, when TLS), require the password."""
        lines = [f"port {port}"]
        if self.tls:
            lines = ["port 0", f"tls-port {port}", *self._tls_lines()]
        if self.password:
            lines += [f'requirepass "{self.password}"', f'masterauth "{self.password}"']
        return lines

    def _tls_lines(self) -> list[str]:
        assert self.tls
        return [
            f"tls-cert-file {self.tls.cert}",
            f"tls-key-file {self.tls.key}",
            f"tls-ca-cert-file {self.tls.cert}",
            "tls-auth-clients no",
            "tls-replication yes",  # replicas and sentinels reach servers over TLS too
        ]

    def client_options(self) -> dict[str, Any]:
        """redis-py options to reach such a server."""
        options: dict[str, Any] = {"password": self.password}
        if self.tls:
            options.update(ssl=True, ssl_ca_certs=str(self.tls.cert))
        return options


PLAIN = Security()


@contextmanager
def redis_process(
    directory: Path,
    lines: list[str] | None = None,
    sentinel: bool = False,
    security: Security = PLAIN,
) -> Iterator[RedisProcess]:
    """Start redis-server (or a sentinel) with a config file in ``directory``; stop it after."""
    port = free_port()
    server = RedisProcess(
        directory,
        port=port,
        lines=[*security.server_lines(port), *(lines or [])],
        sentinel=sentinel,
        client_options=security.client_options(),
    )
    server.start()
    try:
        yield server
    except Exception:
        print(server.log())
        raise
    finally:
        server.close()


@dataclass
class SentinelGroup:
    """A primary, a replica and three sentinels watching them as ``SERVICE``."""

    primary: RedisProcess
    replica: RedisProcess
    sentinels: list[RedisProcess]

    @property
    def url(self) -> str:
        """REDIS_URL for the service."""
        nodes = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{nodes}/{SERVICE}"

    def primary_port(self) -> int:
        """The port of the primary, as the first answering sentinel reports it."""
        for sentinel in self.sentinels:
            if sentinel.running():
                address: Any = sentinel.client().sentinel_get_master_addr_by_name(SERVICE)
                return int(address[1])
        raise RuntimeError("no sentinel is running")

    def ready(self) -> bool:
        """Whether every sentinel sees the replica and the two other sentinels."""
        if self.primary.client().info("replication").get("connected_slaves") != 1:
            return False
        for sentinel in self.sentinels:
            state: Any = sentinel.client().sentinel_master(SERVICE)
            if state["num-slaves"] != 1 or state["num-other-sentinels"] != 2:
                return False
        return True


def _sentinel_lines(
    primary_port: int, down_after_ms: int, failover_timeout_ms: int, data: Security, own: Security
) -> list[str]:
    lines = [
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2",
        f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}",
        f"sentinel failover-timeout {SERVICE} {failover_timeout_ms}",
        f"sentinel parallel-syncs {SERVICE} 1",
    ]
    if data.password:
        lines.append(f'sentinel auth-pass {SERVICE} "{data.password}"')
    if own.password:
        lines.append(f'sentinel sentinel-pass "{own.password}"')  # to reach the other sentinels
    return lines


@contextmanager
def sentinel_group(
    directory: Path,
    down_after_ms: int = 1000,
    failover_timeout_ms: int = 3000,
    data: Security = PLAIN,
    sentinel_security: Security = PLAIN,
) -> Iterator[SentinelGroup]:
    """Start a primary, its replica and three sentinels; wait until they all know each other."""
    with ExitStack() as stack:
        primary = stack.enter_context(redis_process(directory / "primary", security=data))
        replica_lines = [f"replicaof 127.0.0.1 {primary.port}"]
        replica = stack.enter_context(
            redis_process(directory / "replica", replica_lines, security=data)
        )
        lines = _sentinel_lines(
            primary.port, down_after_ms, failover_timeout_ms, data, sentinel_security
        )
        sentinels = [
            stack.enter_context(
                redis_process(directory / f"sentinel{i}", lines, True, sentinel_security)
            )
            for i in range(3)
        ]
        group = SentinelGroup(primary, replica, sentinels)
        wait_for(
            "sentinels to discover the replica and each other", group.ready, 30, ignore=REDIS_DOWN
        )
        yield group


@dataclass
class Cluster:
    """Redis Cluster primaries (no replicas)."""

    nodes: list[RedisProcess]

    @property
    def url(self) -> str:
        """REDIS_URL naming every node as a startup node."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def ok(self) -> bool:
        """Whether every node reports the cluster state ok."""
        return all(n.client().cluster("info")["cluster_state"] == "ok" for n in self.nodes)


def _cluster_lines(directory: Path) -> list[str]:
    return [
        "cluster-enabled yes",
        f"cluster-config-file {directory / 'nodes.conf'}",
        "cluster-node-timeout 2000",
        f"cluster-port {free_port()}",  # the bus port; port+10000 may be taken or too high
    ]


@contextmanager
def redis_cluster(directory: Path, primaries: int = 3) -> Iterator[Cluster]:
    """Start ``primaries`` cluster-enabled servers and join them with redis-cli --cluster create."""
    with ExitStack() as stack:
        nodes = [
            stack.enter_context(redis_process(d, _cluster_lines(d)))
            for d in (directory / f"node{i}" for i in range(primaries))
        ]
        addresses = [f"127.0.0.1:{n.port}" for n in nodes]
        subprocess.run(
            [REDIS_CLI, "--cluster", "create", *addresses, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        cluster = Cluster(nodes)
        wait_for("cluster state ok", cluster.ok, 30, ignore=REDIS_DOWN)
        yield cluster
