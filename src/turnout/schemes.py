"""The engines turnout knows, by URL scheme: adding an engine is one package under engines/
and one line here.

Import strings only, so reading this list loads no engine and no driver; it imports
nothing, so both the URL parser (endpoint.py) and the engine registry (engines/) read it.
"""

from __future__ import annotations

ENGINES = {
    "sqlite": "turnout.engines.sqlite.engine:SqliteEngine",
    "postgresql": "turnout.engines.postgres.engine:PostgresEngine",
    "mysql": "turnout.engines.mysql.engine:MysqlEngine",
    "redis": "turnout.engines.redis.engine:RedisEngine",
}
# Other spellings of a scheme that URLs use, and the scheme each means.
ALIASES = {"postgres": "postgresql", "mariadb": "mysql", "file": "sqlite", "rediss": "redis"}
# The driver modules each engine imports, and the extra (`pip install 'turnout[EXTRA]'`)
# that brings those not installed with turnout itself: a missing one is named before any
# connection, in one line, instead of an import error from deep inside the engine.
DRIVERS = {
    "sqlite": ("", ()),
    "postgresql": ("postgres", ("psycopg", "psycopg2")),
    "mysql": ("mysql", ("pymysql", "pymysqlreplication", "MySQLdb")),
    "redis": ("redis", ("redis", "hiredis")),
}
