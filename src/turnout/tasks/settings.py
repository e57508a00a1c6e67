"""`turnout task set NAME option=value`: change a task's options, also while it runs.

Options are typed (spec.Options); a value given as text is read as the type the option
has, and the whole spec is checked again before it is saved, so a bad value is one line
and changes nothing. A running worker reads its throttling again from the store within
a second (migrate/throttle.py); other options take effect at its next start.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from turnout.errors import BadInput
from turnout.spec import Options
from turnout.store import Store

_TYPES = {f.name: f.type for f in fields(Options)}


def set_options(name: str, values: dict[str, str], store: Store | None = None,
                ) -> dict[str, Any]:
    """Set the task's options from text values; returns them as saved."""
    store = store or Store()
    spec = store.get(name).spec
    typed = {key: _typed(key, text) for key, text in values.items()}
    changed = replace(spec, options=replace(spec.options, **typed))
    store.set_spec(name, changed)
    store.add_event(name, "info", "options set: " + ", ".join(
        f"{k} = {v}" for k, v in typed.items()))
    return typed


def _typed(key: str, text: str) -> Any:
    kind = _TYPES.get(key)
    if kind is None:
        raise BadInput(f"unknown option {key!r}: known ones are {sorted(_TYPES)}")
    try:
        if kind in ("bool", bool):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes", "on")
        if kind in ("int", int):
            return int(text)
        if kind in ("float", float):
            return float(text)
    except ValueError:
        raise BadInput(f"option {key} takes a {kind}, not {text!r}") from None
    return text
