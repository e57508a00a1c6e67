"""The threads and connections verification runs on, and the read-rate limit."""

from __future__ import annotations

import threading
import time

from turnout.engines.base import Engine
from turnout.engines.checksums import VerifyReader
from turnout.errors import Unsupported


def readable(engine: Engine) -> VerifyReader:
    """The engine's verification reader; a keyspace engine has none, and is verified by
    migrate/keyspace.py before any table comparison would ask for one."""
    reader = engine.verify_reader()
    if reader is None:
        raise Unsupported(f"{engine.endpoint} has no tables to compare by row checksums: "
                          "verify it as a task of its own engine (turnout verify TASK)")
    return reader


class Readers:
    """One verification connection per engine and thread, all closed together."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._opened: list[VerifyReader] = []
        self._lock = threading.Lock()

    def get(self, engine: Engine) -> VerifyReader:
        cache: dict[int, VerifyReader] = self._local.__dict__.setdefault("readers", {})
        reader = cache.get(id(engine))
        if reader is None:
            reader = cache[id(engine)] = readable(engine)
            with self._lock:
                self._opened.append(reader)
        return reader

    def close(self) -> None:
        for reader in self._opened:
            try:
                reader.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


class Throttle:
    """Keeps the rows read per second (both sides together) under a limit."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.rows = 0
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def spent(self, rows: int) -> None:
        if not self.rate:
            return
        with self._lock:
            self.rows += rows
            ahead = self.rows / self.rate - (time.monotonic() - self.start)
        if ahead > 0:
            time.sleep(ahead)
