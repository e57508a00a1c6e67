"""The reverse task: the forward task turned around, incremental only.

It reads the destination's changes and writes them to the source, with every
rename inverted, so that the source stays a place to go back to.
"""

from __future__ import annotations

from dataclasses import replace

from turnout.model import Phase
from turnout.spec import TaskSpec
from turnout.store import Store

STRAY_CHECK_S = 300.0  # how often the reverse task looks for rows written to the old source


def reverse_name(name: str) -> str:
    """Scripts find the reverse task by this name."""
    return f"{name}-reverse"


def reverse_spec(store: Store, name: str) -> TaskSpec:
    spec = store.get(name).spec
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
    )


def _literal_pattern(name: str) -> str:
    """A glob that matches exactly this name, whatever characters it holds."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
