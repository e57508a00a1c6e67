"""Throwaway PostgreSQL and MariaDB servers for the integration tests and the benchmarks.

The project rule is that the test suite never uses the machine's long-running database
services (nor their ports, data directories or settings): it starts its own servers from the
installed server binaries, on free ports of 127.0.0.1 and in fresh data directories, and stops
them after. ``.ci/run`` installs the Debian packages that provide the binaries on a bare machine.

- :func:`start_postgres` runs ``initdb`` (trust auth, UTF8) and ``postgres`` with
  ``wal_level=logical`` and 40 replication slots (tests keep a slot until their task goes).
- :func:`start_redis` runs ``redis-server`` without persistence, diskless syncs at once.
- :func:`start_mariadb` runs ``mariadb-install-db`` and ``mariadbd`` with a ROW binlog and a
  temp dir of its own; grants stay on, and ``root`` logs in over TCP without a password.

Each server keeps its logs in the ``base_dir`` it was given, for debugging a failed start.
Any failure raises :class:`RuntimeError` with a one-line message that ends in the tail of the
relevant log: the tests must fail loudly, never skip, when a server can't be had.

This is importable code (as ``numpy.testing`` is) so that tests and benchmarks share one way
to get a server: ``from turnout.testing.servers import start_postgres``.
"""

from __future__ import annotations

from turnout.testing.mariadb import MariaDbServer, start_mariadb
from turnout.testing.postgres import PgServer, find_pg_bindir, start_postgres
from turnout.testing.processes import HOST, clean_env, free_port
from turnout.testing.redis import RedisServer, start_redis

__all__ = [
    "HOST",
    "MariaDbServer",
    "PgServer",
    "RedisServer",
    "clean_env",
    "find_pg_bindir",
    "free_port",
    "start_mariadb",
    "start_postgres",
    "start_redis",
]
