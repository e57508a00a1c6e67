"""Schema step: tables (with primary keys) before the data, indexes after it."""

from __future__ import annotations

from turnout.engines.base import Engine
from turnout.migrate.plan import TablePlan
from turnout.migrate.progress import Progress


def create_tables(dst: Engine, plans: list[TablePlan], progress: Progress) -> None:
    for plan in plans:
        dst.create_table(plan.dest)
    progress.event("info", f"created {len(plans)} tables on the destination")


def create_indexes(dst: Engine, plans: list[TablePlan], progress: Progress) -> None:
    count = 0
    for plan in plans:
        dst.create_indexes(plan.dest)
        count += len(plan.dest.indexes)
    for plan in plans:  # a foreign key needs the referenced table's key in place
        dst.create_foreign_keys(plan.dest)
    progress.event("info", f"built {count} indexes on the destination")


def sync_sequences(dst: Engine, plans: list[TablePlan], progress: Progress) -> None:
    """After the full step and at every stop: no destination sequence is behind its data."""
    for plan in plans:
        dst.sync_sequences(plan.dest)
    progress.event("info", "destination sequences moved past the highest values in use")
