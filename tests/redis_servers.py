"""Real Redis topologies for tests: servers, a replica, sentinels and a cluster.

Every server is Debian's redis-server started on free loopback ports in a temp directory,
and stopped (or already killed) when its context exits. Nothing here touches the shared
Redis on 6379.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support import free_port, wait_for
from tests.tls import Certificate

REDIS_SERVER = "/usr/bin/redis-server"
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


def sentinel_command(config: Path) -> list[str]:
    """redis-sentinel when installed, else redis-server in sentinel mode (same binary)."""
    binary = shutil.which("redis-sentinel")
    return [binary, str(config)] if binary else [REDIS_SERVER, str(config), "--sentinel"]


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


@dataclass
class RedisProcess:
    """One redis-server (or sentinel) process."""

    process: subprocess.Popen[bytes]
    port: int
    directory: Path
    security: Security = PLAIN
    _client: redis.Redis | None = None

    def client(self) -> redis.Redis:
        """A plain client on this server (closed with the server)."""
        if self._client is None:
            options = self.security.client_options()
            self._client = redis.Redis("127.0.0.1", self.port, socket_timeout=5, **options)
        return self._client

    def database(self, db: int) -> redis.Redis:
        """A new client on database ``db`` of this server; the caller closes it."""
        return redis.Redis(
            "127.0.0.1", self.port, db=db, socket_timeout=5, **self.security.client_options()
        )

    def kill(self) -> None:
        """SIGKILL: the server dies with no chance to hand anything over."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """Stop the server and close the clients made on it."""
        if self._client is not None:
            self._client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        """What the server logged."""
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _base_config(directory: Path) -> list[str]:
    return [
        "bind 127.0.0.1",
        'save ""',
        "appendonly no",
        f"dir {directory}",
        f"logfile {directory / 'server.log'}",
    ]


def _answers(server: RedisProcess) -> bool:
    if server.process.poll() is not None:
        raise RuntimeError(f"redis-server exited with {server.process.returncode}")
    return bool(server.client().ping())


@contextmanager
def redis_process(
    directory: Path,
    lines: list[str] | None = None,
    sentinel: bool = False,
    security: Security = PLAIN,
) -> Iterator[RedisProcess]:
    """Start redis-server (or a sentinel) with a config file in ``directory``; stop it after."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "redis.conf"
    all_lines = [*_base_config(directory), *security.server_lines(port), *(lines or [])]
    config.write_text("\n".join(all_lines) + "\n")
    command = sentinel_command(config) if sentinel else [REDIS_SERVER, str(config)]
    process = subprocess.Popen(command, cwd=directory)
    server = RedisProcess(process, port, directory, security)
    try:
        wait_for(f"redis on {port}", lambda: _answers(server), 15, ignore=REDIS_DOWN)
        yield server
    except Exception:
        print(server.log())
        raise
    finally:
        server.stop()


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
            if sentinel.process.poll() is None:
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
