"""The PostgreSQL engine (psycopg 3): connections, snapshot reads, COPY loads, streamed
copies between servers, sessions and freeze; the transactions that apply batches with their
checkpoints are in writes.py and the statements they run in apply.py, building tables and
their indexes and constraints in build.py (what a table already holds in present.py), the
checkpoint table in checkpoints.py, pulling chunks from a PostgreSQL source (direct copy)
in direct.py.

Change capture through logical decoding (pgoutput) is in capture.py.

The engine class (PostgresEngine) is in engine.py; this module imports nothing, so loading a
helper module (dialect.py, values.py) does not load the engine.
"""
