"""The MySQL / MariaDB engine (PyMySQL): connections, catalog, checkpoints and AUTO_INCREMENT;
snapshot reads are in snapshot.py and bulk loads in bulk.py (both through mysqlclient, see
client.py), apply in apply.py, binlog capture in capture.py, sessions and freeze in sessions.py.

URL: mysql://user:password@host:port/database, with turnout's own options
`zero_dates=refuse|null`, `tinyint1=boolean|int`, `resume_by=file|gtid` (where a resumed binlog
stream starts: file and offset, or MariaDB's GTID state, which outlives a failover) and
`unix_socket=/path`, read in settings.py.

The engine class (MysqlEngine) is in engine.py; this module imports nothing, so loading a
helper module (dialect.py, values.py) does not load the engine.
"""
