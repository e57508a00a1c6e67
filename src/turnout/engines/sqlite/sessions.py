"""Who has a SQLite file open, and whether they are writing: read from /proc.

SQLite has no server to ask, but the kernel knows: /proc/PID/fd shows which
processes hold the file, and /proc/locks shows SQLite's byte-range locks. A
write lock on the RESERVED byte (rollback journal) or on the WAL write-lock
slot of the -shm file means that process is inside a write transaction.
"""

from __future__ import annotations

import os
import pwd
import sqlite3
from pathlib import Path

from turnout.engines.sqlite.dialect import literal, quote
from turnout.model import Session

RESERVED_BYTE = 0x40000001  # PENDING_BYTE + 1
WAL_WRITE_LOCK_OFFSET = 120  # first lock slot of the -shm file
FREEZE_PREFIX = "_turnout_freeze_"
FENCE_FUNCTION = "turnout_fence"  # registered on turnout's own connections only


def open_by(path: Path) -> list[Session]:
    targets = {str(path.resolve()), f"{path.resolve()}-wal", f"{path.resolve()}-shm"}
    inodes = _inodes(path)
    writers = _writing_pids(inodes)
    me = os.getpid()
    sessions = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        if not targets.intersection(_open_files(pid_dir)):
            continue
        pid = int(pid_dir.name)
        cmdline = _cmdline(pid_dir)
        sessions.append(
            Session(
                id=str(pid),
                user=_owner(pid_dir),
                program=cmdline[:120],
                client="local",
                state="writing" if pid in writers else "open",
                writing=pid in writers,
                own=pid == me or _runs_turnout(pid_dir),
            )
        )
    return sorted(sessions, key=lambda s: int(s.id))


def _open_files(pid_dir: Path) -> set[str]:
    found: set[str] = set()
    try:
        fds = list((pid_dir / "fd").iterdir())
    except OSError:  # gone, or not ours to look at
        return found
    for fd in fds:
        try:
            found.add(os.readlink(fd))
        except OSError:  # closed meanwhile
            continue
    return found


def _inodes(path: Path) -> dict[int, str]:
    found = {}
    for suffix in ("", "-shm"):
        try:
            st = os.stat(f"{path}{suffix}")
        except OSError:
            continue
        found[st.st_ino] = suffix
    return found


def _writing_pids(inodes: dict[int, str]) -> set[int]:
    """Processes holding SQLite's write lock on the database or its WAL index."""
    pids: set[int] = set()
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return pids
    for line in lines:
        fields = line.split()
        if "->" in fields:
            fields.remove("->")  # a waiter, listed under the holder
        if len(fields) < 8 or fields[1] not in ("POSIX", "OFDLCK") or fields[3] != "WRITE":
            continue
        try:
            pid = int(fields[4])
            inode = int(fields[5].split(":")[-1])
            start = int(fields[6])
        except ValueError:
            continue
        kind = inodes.get(inode)
        if (kind == "" and start == RESERVED_BYTE) or (
            kind == "-shm" and start == WAL_WRITE_LOCK_OFFSET
        ):
            pids.add(pid)
    return pids


def _cmdline(pid_dir: Path) -> str:
    try:
        raw = (pid_dir / "cmdline").read_bytes()
        return raw.replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _runs_turnout(pid_dir: Path) -> bool:
    """Whether the process is turnout itself (its command, or `python -m turnout`), not one
    whose arguments merely mention the word, say in a file's path."""
    try:
        args = (pid_dir / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    programs = [Path(a).name for a in args[:2]]
    return "turnout" in programs or any(
        a == "-m" and b.split(".")[0] == "turnout" for a, b in zip(args, args[1:], strict=False))


def _owner(pid_dir: Path) -> str:
    try:
        return pwd.getpwuid(pid_dir.stat().st_uid).pw_name
    except (OSError, KeyError):
        return ""


def freeze(db: sqlite3.Connection, tables: list[str], reason: str) -> bool:
    """Triggers that abort every write to every user table, with the reason as the message,
    unless the writing connection has registered turnout's function (only turnout's own do;
    SQLite lists a connection's functions in pragma_function_list). Whether this call made
    them."""
    made = False
    db.execute("BEGIN IMMEDIATE")  # waits for a writer in the middle of its transaction
    try:
        for table in tables:
            for op in ("INSERT", "UPDATE", "DELETE"):
                name = f"{FREEZE_PREFIX}{op.lower()}_{table}"
                if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                              (name,)).fetchone():
                    continue
                db.execute(
                    f"CREATE TRIGGER {quote(name)} BEFORE {op} ON {quote(table)} "
                    f"WHEN NOT EXISTS (SELECT 1 FROM pragma_function_list WHERE name = "
                    f"'{FENCE_FUNCTION}') BEGIN SELECT RAISE(ABORT, "
                    f"{literal(f'turnout: writes are frozen: {reason}')}); END")
                made = True
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return made


def pass_fence(db: sqlite3.Connection) -> None:
    """Register the function the fence's triggers call: only turnout's connections have it."""
    db.create_function(FENCE_FUNCTION, 0, lambda: 1, deterministic=True)


def frozen(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' "
                      "AND substr(name, 1, ?) = ? LIMIT 1",
                      (len(FREEZE_PREFIX), FREEZE_PREFIX)).fetchone() is not None


def unfreeze(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        if name.startswith(FREEZE_PREFIX):
            db.execute(f"DROP TRIGGER IF EXISTS {quote(name)}")
    db.execute("COMMIT")
