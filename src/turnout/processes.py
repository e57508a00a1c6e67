"""Which process a task's worker is: a pid names a process only with its start time,
since the kernel gives a freed pid to the next process that asks (Linux's /proc)."""

from __future__ import annotations


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_started(pid: int) -> int | None:
    """When the process started, in clock ticks since boot: with the pid, names it uniquely."""
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def process_alive(pid: int, started: int | None) -> bool:
    """Whether the worker recorded as (`pid`, `started`) still runs: not gone, not a zombie,
    and not another process that was given the same pid later."""
    fields = _stat(pid)
    if not fields or fields[0] == "Z":
        return False
    return started is None or int(fields[19]) == started
