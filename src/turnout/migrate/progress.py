"""How stages report what they do, without printing or knowing the store."""

from __future__ import annotations

from typing import Protocol

from turnout.model import Phase, Position


class Progress(Protocol):
    def phase(self, phase: Phase) -> None: ...

    def event(self, level: str, message: str) -> None: ...

    def table_total(self, source: str, dest: str, rows_total: int) -> None: ...

    def table_rows(self, source: str, rows_copied: int, done: bool) -> None: ...

    def flush(self) -> None:
        """Write what table_total and table_rows held back (a copy's end, or its stop)."""

    def incremental(self, position: Position, delay_s: float | None, changes: int,
                    beat_applied: float | None = None) -> None: ...

    def batch(self, seconds: float) -> None:
        """An apply batch took `seconds` (the apply batch histogram in /metrics)."""


class NoProgress:
    """A Progress that reports nowhere (library use, tests)."""

    def phase(self, phase: Phase) -> None:
        pass

    def event(self, level: str, message: str) -> None:
        pass

    def table_total(self, source: str, dest: str, rows_total: int) -> None:
        pass

    def table_rows(self, source: str, rows_copied: int, done: bool) -> None:
        pass

    def flush(self) -> None:
        pass

    def incremental(self, position: Position, delay_s: float | None, changes: int,
                    beat_applied: float | None = None) -> None:
        pass

    def batch(self, seconds: float) -> None:
        pass
