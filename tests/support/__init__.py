"""Private servers for tests, the benchmarks and the soak: the one place that starts them.

- ``free_port()``, ``wait_for(what, check, timeout)``: ports and polling (``polling``);
- ``RedisProcess``: a redis-server to stop, restart, pause, fill (``redis_process``);
- ``PostgresCluster``, ``scratch_database``: PostgreSQL of one's own (``postgres_cluster``);
- ``app_server(kind, env, workdir)`` with ``kind`` in ``SERVERS`` (gunicorn, granian),
  ``app_env(...)`` its environment, ``Server``, ``worker_pids``, ``wait_for_replacement``,
  ``refusal`` (``app_servers``);
- ``HttpClient``: HTTP with a cookie jar (``clients``).

Importable from the project root without path tricks: ``python -m bench.soak`` does.
"""

from tests.support.app_servers import (
    PROJECT_DIR,
    SERVERS,
    Server,
    app_env,
    app_server,
    gone,
    refusal,
    stop,
    wait_for_replacement,
    wait_until_up,
    worker_pids,
)
from tests.support.clients import HttpClient, remember_cookies
from tests.support.polling import free_port, wait_for
from tests.support.postgres_cluster import (
    ClusterUnavailable,
    PostgresCluster,
    libpq_url,
    scratch_database,
)
from tests.support.redis_process import REDIS_SERVER, RedisProcess

__all__ = [
    "PROJECT_DIR",
    "REDIS_SERVER",
    "SERVERS",
    "ClusterUnavailable",
    "HttpClient",
    "PostgresCluster",
    "RedisProcess",
    "Server",
    "app_env",
    "app_server",
    "free_port",
    "gone",
    "libpq_url",
    "refusal",
    "remember_cookies",
    "scratch_database",
    "stop",
    "wait_for",
    "wait_for_replacement",
    "wait_until_up",
    "worker_pids",
]
