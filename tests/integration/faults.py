"""Faults to inject under a running task: a server that crashes and starts again, and a TCP
proxy between turnout and a server that forwards, cuts (RST) or blackholes (drops every
byte, sends nothing back, no RST)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from turnout.testing.servers import MariaDbServer, PgServer

FORWARD, CUT, BLACKHOLE = "forward", "cut", "blackhole"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, as a firewall that rejects or a crashed peer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


@dataclass(eq=False)
class _Pair:
    """One client connection and the proxy's connection to the server for it."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    dropped: bool = False  # blackholed: whatever either side sends is lost from now on


@dataclass(eq=False)
class TcpProxy:
    """A TCP proxy on 127.0.0.1 in a thread of its own, in front of `target_port`.

    forward: bytes flow both ways. cut: open connections get an RST, new ones are reset
    at once. blackhole: open connections stay open but lose everything either side sends
    (and keep losing it after the proxy forwards again, as a connection whose peer gave
    up); new connections are accepted and never answered.
    """

    target_port: int
    target_host: str = "127.0.0.1"
    mode: str = FORWARD
    port: int = 0
    _pairs: set[_Pair] = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    def __post_init__(self) -> None:
        threading.Thread(target=self._loop.run_forever, daemon=True, name="proxy").start()
        server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self._server = server
        self.port = server.sockets[0].getsockname()[1]

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def set(self, mode: str) -> None:
        """Switch mode; what it does to open connections happens before this returns."""
        self._call(self._switch(mode))

    async def _switch(self, mode: str) -> None:
        self.mode = mode
        for pair in list(self._pairs):
            if mode == CUT:
                _reset(pair.client)
                _reset(pair.server)
                self._pairs.discard(pair)
            elif mode == BLACKHOLE:
                pair.dropped = True

    def close(self) -> None:
        self.set(CUT)
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _shutdown(self) -> None:
        self._server.close()
        current = asyncio.current_task()
        waiting = [t for t in asyncio.all_tasks() if t is not current]
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == CUT:
            _reset(writer)
            return
        if self.mode == BLACKHOLE:
            await self._swallow(reader)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host,
                                                                 self.target_port)
        except OSError:
            _reset(writer)
            return
        pair = _Pair(writer, up_writer)
        self._pairs.add(pair)
        await asyncio.gather(self._pipe(reader, up_writer, pair),
                             self._pipe(up_reader, writer, pair), return_exceptions=True)
        self._pairs.discard(pair)

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    pair: _Pair) -> None:
        while data := await reader.read(65536):
            if pair.dropped:
                continue
            writer.write(data)
            await writer.drain()
        if not pair.dropped:
            writer.close()


def _argv(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")


def crash_postgres(server: PgServer, down_s: float = 0.0) -> None:
    """`pg_ctl stop -m immediate` (every backend dies, the next start recovers from WAL), a
    pause, then the same server started again on its port and data directory."""
    argv = _argv(server.process.pid)
    as_user: dict[str, Any] = {}
    if server.os_user is not None:
        as_user = {"user": server.os_user.pw_uid, "group": server.os_user.pw_gid,
                   "extra_groups": []}
    subprocess.run([str(server.bindir / "pg_ctl"), "stop", "-m", "immediate", "-D",
                    str(server.data_dir)], check=True, capture_output=True, timeout=60,
                   **as_user)
    server.process.wait(30)
    time.sleep(down_s)
    with server.log.open("ab") as out:
        server.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, cwd=server.run_dir,
                                          **as_user)
    _wait_port(server.port)


def crash_mariadb(server: MariaDbServer, down_s: float = 0.0) -> None:
    """`kill -9` of mariadbd, a pause, then the same server started again on its port and
    data directory (InnoDB recovers; the binlog rotates to a new file)."""
    argv = _argv(server.process.pid)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(30)
    time.sleep(down_s)
    with (server.base_dir / "mariadbd.out").open("ab") as out:
        server.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, cwd=server.base_dir)
    _wait_port(server.port)


def _wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")
