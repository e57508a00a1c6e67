"""The reverse task: the forward task turned around, incremental only.

It reads the destination's changes and writes them to the source, with every
rename inverted, so that the source stays a place to go back to.
"""

from __future__ import annotations

from dataclasses import replace

from turnout import engines
from turnout.errors import Unsupported
from turnout.model import Phase
from turnout.spec import TaskSpec
from turnout.store import Store

STRAY_CHECK_S = 300.0  # how often the reverse task looks for rows written to the old source


def reverse_name(name: str) -> str:
    """Scripts find the reverse task by this name."""
    return f"{name}-reverse"


def reverse_spec(store: Store, name: str) -> TaskSpec:
    spec = store.get(name).spec
    problem = reverse_problem(spec)
    if problem:
        raise Unsupported(problem)
    if engines.engine_class(spec.source_endpoint.scheme).capabilities.keyspace:
        return _keyspace_reverse(spec)
    pairs = [(t.source, t.dest) for t in store.tables(name)]
    columns = {
        dest: {new: old for old, new in spec.dest_columns(source).items()}
        for source, dest in pairs if spec.dest_columns(source)
    }
    return TaskSpec(
        name=reverse_name(name),
        source=spec.dest,
        dest=spec.source,
        types=(Phase.INCREMENTAL,),
        tables=tuple(_literal_pattern(dest) for _, dest in pairs),
        table_renames={dest: source for source, dest in pairs if source != dest},
        column_renames=columns,
        options=replace(spec.options, stray_check_s=spec.options.stray_check_s or STRAY_CHECK_S),
        alerts=spec.alerts,  # stray writes on the old source are what its alerts are for
    )


def _keyspace_reverse(spec: TaskSpec) -> TaskSpec:
    """An engine of keys: the same key globs, with no renames (it has none)."""
    return TaskSpec(
        name=reverse_name(spec.name),
        source=spec.dest,
        dest=spec.source,
        types=(Phase.INCREMENTAL,),
        tables=spec.tables,
        exclude=spec.exclude,
        options=spec.options,
        alerts=spec.alerts,
    )


def reverse_problem(spec: TaskSpec) -> str | None:
    """Why the forward task cannot be turned around: the destination holds only the rows
    a --where kept, or masked values, and writing those back would delete or overwrite the
    source's real data. None when it can."""
    filtered = sorted(spec.where)
    masked = sorted(f"{t}.{c}" for t, columns in spec.masks.items() for c in columns)
    if not filtered and not masked:
        return None
    what = ", ".join([f"--where on {t}" for t in filtered] + [f"--mask on {c}" for c in masked])
    return (f"task {spec.name!r} has {what}: a reverse task would write filtered rows or "
            "masked values back over the source's data, so there is none: "
            "move these tables with a task of their own without filters to switch over")


def _literal_pattern(name: str) -> str:
    """A glob that matches exactly this name, whatever characters it holds."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
