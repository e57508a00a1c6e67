"""PostgresEngine's direct copy: a destination that pulls chunks from a PostgreSQL source's
snapshot with COPY, the rows never decoded (copy.py relays them), each transaction with its
checkpoint. A mixin of the engine, which holds the connection and the write transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any

from turnout.engines.base import Chunk, DirectCopy, Engine, KeySpan, SnapshotReader
from turnout.engines.postgres import copy
from turnout.engines.postgres.dialect import column_list, qualified
from turnout.engines.postgres.snapshot import PgSnapshot, key_at, select_span
from turnout.model import Checkpoint, Key, Table


class PgDirectCopy(DirectCopy):
    """copy_chunk_from() and copy_chunks_from() for PostgresEngine (engine.py)."""

    schema: str
    _formats: dict[tuple[str, str, str], str]  # COPY format per table pair, once learned

    def _write(self, fence: Checkpoint | None = None) -> AbstractContextManager[Any]:
        raise NotImplementedError  # the engine's write transaction

    def _save_checkpoint(self, cur: Any, checkpoint: Checkpoint) -> None:
        raise NotImplementedError

    def can_copy_from(self, source: Engine) -> bool:
        return isinstance(source, PgDirectCopy)

    def copy_chunk_from(
        self,
        source: Engine,
        reader: SnapshotReader,
        table: Table,
        dest: Table,
        span: KeySpan,
        limit: int,
        checkpoint: Callable[[int, Key | None], Checkpoint],
    ) -> tuple[int, Key | None]:
        """Stream COPY from the source's snapshot into the destination, in big blocks.

        The rows are never decoded: both servers speak the same COPY format.
        Only a chunk that fills `limit` asks the source for its last key, so a
        span that fits one chunk costs one query on each side.
        """
        return self.copy_chunks_from(source, reader, [(table, dest, span, checkpoint)], limit)[0]

    def copy_chunks_from(self, source: Engine, reader: SnapshotReader, chunks: list[Chunk],
                         limit: int) -> list[tuple[int, Key | None]]:
        """Every chunk in one transaction, with one checkpoint holding all of theirs; the
        source's COPYs go as one query (copy.relay), the destination's one after another."""
        assert isinstance(reader, PgSnapshot), "the reader comes from a PostgreSQL snapshot"
        probe = chunks[0][3](0, None) if chunks else None  # whose epoch, before any row
        with self._write(probe) as cur:
            self._learn_formats(cur, reader, [(t, d) for t, d, _, _ in chunks])
            copied: list[int] = []
            copy.relay(reader.conn, [self._copy_out(reader, t, d, s, limit)
                                     for t, d, s, _ in chunks],
                       lambda n: self._copy_in(cur, chunks[n][1], chunks[n][0], reader, copied))
            done: list[tuple[int, Key | None]] = []
            values: dict[str, str] = {}
            point = None
            for (table, _, span, checkpoint), rows in zip(chunks, copied, strict=True):
                last = span.upto  # a short chunk exhausted the span
                if rows == limit:
                    last = key_at(reader.conn, reader.schema, table, span, rows - 1)
                point = checkpoint(rows, last)
                values.update(point.values)
                done.append((rows, last))
            if point is not None:
                self._save_checkpoint(cur, replace(point, values=values))
        return done

    def _learn_formats(self, cur: Any, reader: PgSnapshot, pairs: list[tuple[Table, Table]]
                       ) -> None:
        """The COPY format of each table pair not known yet (the full step alters no
        table), all in one query on each side."""
        new = [(t, d) for t, d in pairs if (reader.schema, t.name, d.name) not in self._formats]
        if new:
            found = copy.copy_formats(reader.conn, reader.schema, cur, self.schema, new)
            for (table, dest), fmt in zip(new, found, strict=True):
                self._formats[(reader.schema, table.name, dest.name)] = fmt

    def _copy_out(self, reader: PgSnapshot, table: Table, dest: Table, span: KeySpan,
                  limit: int) -> str:
        select = select_span(reader.conn, reader.schema, table, span, limit)
        fmt = self._formats[(reader.schema, table.name, dest.name)]
        return f"COPY ({select}) TO STDOUT (FORMAT {fmt})"

    @contextmanager
    def _copy_in(self, cur: Any, dest: Table, table: Table, reader: PgSnapshot,
                 copied: list[int]) -> Iterator[Callable[[bytes], None]]:
        """A COPY into `dest` open while the block writes to it; its rows go to `copied`."""
        target = f"{qualified(self.schema, dest.name)} ({column_list(dest.column_names)})"
        fmt = self._formats[(reader.schema, table.name, dest.name)]
        with cur.copy(f"COPY {target} FROM STDIN (FORMAT {fmt})") as writer:
            yield writer.write
        copied.append(max(cur.rowcount, 0))
