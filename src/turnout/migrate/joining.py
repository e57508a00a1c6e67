"""Tables that begin to match the task's --tables while the task is stopped.

A table created on the source while the task runs joins at its CREATE TABLE in the
change stream (migrate/ddl.py): built on the destination, then its rows from the stream,
which holds every row it ever had. A table created while the task was stopped is found
by the next start's table list instead, with no row of it on the destination. It is
left out of the plan and waits for its CREATE TABLE in the stream, which the task reads
from where it stopped, so the table joins exactly as it would have while running (a
SQLite source logs the rows it has at the next read instead, newtables.py).

Which tables join: those the plan selects that the stream did not know where the task
stopped (the layouts the destination's checkpoint keeps; before the first DDL-aware
checkpoint, the tables the task had). A table that already existed before the task's
position (renamed into the pattern, or the patterns changed) has no CREATE TABLE ahead,
and its earlier rows are nowhere in the stream: once the stream has caught up with the
source without one, the task stops naming the table and the way on. So does a source
whose stream carries no DDL at all (PostgreSQL without the event trigger), at once.
"""

from __future__ import annotations

from turnout.checkpoints import layouts
from turnout.errors import OperationFailed


def joining(planned: list[str], saved: dict[str, str], had: list[str]) -> list[str]:
    """The planned tables the task did not know when it stopped (`saved`: its checkpoint on
    the destination; `had`: the tables it had in the store)."""
    known = set(layouts(saved)) or set(had)
    if not known:  # nothing tells what the task had: it had them all
        return []
    return [name for name in planned if name not in known]


def never_created(names: list[str], task: str) -> OperationFailed:
    """The stop for tables whose CREATE TABLE the stream did not bring."""
    listed = ", ".join(repr(n) for n in sorted(names))
    first = sorted(names)[0]
    return OperationFailed(
        f"table {listed} began to match --tables while task {task!r} was stopped, but the "
        "change stream from where it stopped does not hold its CREATE TABLE (it existed "
        "before, or was renamed into the pattern), so its earlier rows cannot be copied in "
        f"order: start the task with --resnapshot to copy every table afresh, or leave it out "
        f"with --exclude {first} and move it with a task of its own")


def without_ddl(names: list[str], task: str) -> OperationFailed:
    """The stop for joining tables on a source whose stream carries no DDL."""
    listed = ", ".join(repr(n) for n in sorted(names))
    first = sorted(names)[0]
    return OperationFailed(
        f"table {listed} began to match --tables while task {task!r} was stopped, and this "
        "source's change stream carries no DDL (PostgreSQL: the event trigger needs a "
        "superuser, docs/ddl.md), so its rows from before cannot be read in order: start the "
        f"task with --resnapshot to copy every table afresh, or leave it out with --exclude "
        f"{first} and move it with a task of its own")
