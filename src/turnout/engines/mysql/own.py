"""Recognising turnout's own MySQL sessions where the server keeps no connection attributes.

MariaDB shows `program_name` only with performance_schema on, which it is
not by default. This process remembers the id of every connection its
engines open; turnout's other processes (the task workers) are found by
the client port the server lists for a session: the local socket with that
port belongs to a process whose command line is turnout's.
"""

from __future__ import annotations

import os
from pathlib import Path

_OPENED: dict[int, set[int]] = {}  # server port → connection ids opened by this process


def opened(port: int, connection_id: int) -> None:
    _OPENED.setdefault(port, set()).add(connection_id)


def ids(port: int) -> set[int]:
    return set(_OPENED.get(port, set()))


def by_port(server_port: int, hosts: dict[int, str]) -> set[int]:
    """The sessions (id → the host:port the server lists) whose client socket is held here
    by a turnout process."""
    ports = {}
    for pid, host in hosts.items():
        _, sep, port = host.rpartition(":")
        if sep and port.isdigit():
            ports[int(port)] = pid
    if not ports:
        return set()
    inodes = _socket_inodes(server_port, set(ports))
    if not inodes:
        return set()
    found: set[int] = set()
    for holder in _turnout_processes():
        for inode in _fds(holder) & set(inodes):
            found.add(ports[inodes[inode]])
    return found


def _socket_inodes(server_port: int, local_ports: set[int]) -> dict[str, int]:
    """Socket inode → local port, for this host's TCP sockets to the server's port."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            local = int(fields[1].rsplit(":", 1)[1], 16)
            remote = int(fields[2].rsplit(":", 1)[1], 16)
            if local in local_ports and remote == server_port:
                found[f"socket:[{fields[9]}]"] = local
    return found


def _turnout_processes() -> list[Path]:
    me = os.getpid()
    found = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == me:
            continue  # this process's own are known by id (the tests' clients live here too)
        try:
            cmdline = (pid_dir / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"turnout" in cmdline[1:3] or any(a.endswith(b"/turnout") for a in cmdline[:2]):
            found.append(pid_dir)
    return found


def _fds(pid_dir: Path) -> set[str]:
    links: set[str] = set()
    try:
        fds = list((pid_dir / "fd").iterdir())
    except OSError:
        return links
    for fd in fds:
        try:
            links.add(os.readlink(fd))
        except OSError:
            continue
    return links
