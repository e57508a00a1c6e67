"""Redis: a key-value engine, migrated through the replication protocol.

Decision (see docs/engines/redis.md): Redis does not fit the Engine interface, which
is about tables, rows and chunks. Rather than forcing keys into rows, a Redis task
runs its own path: the schema step is a no-op, and the full and incremental steps
are one replication session (sync.py): turnout poses as a replica (replica.py), cuts
the RDB into per-key RESTORE payloads without decoding values (rdb.py, crc64.py),
loads them pipelined, then applies the command stream in MULTI/EXEC batches that set
the checkpoint key in the same transaction (applier.py). The position is the
source's (replid, replication offset).

capabilities.keyspace tells the runner to take this path (migrate/keyspace.py) instead
of the table steps; engine.py is what the registry sees, url.py parses redis:// and
rediss://.
"""
