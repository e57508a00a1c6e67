"""`turnout task set NAME option=value`: change a task's options, also while it runs.

Options are typed (spec.Options); a value given as text is read as the type the option
has, and the whole spec is checked again before it is saved, so a bad value is one line
and changes nothing. A running worker reads its throttling again from the store within
a second (migrate/throttle.py); other options take effect at its next start.

`alerts.webhook`, `alerts.delay_s` and `alerts.delay_for_s` set the task's [alerts] the
same way (an empty webhook removes it); a running worker's alert watch reads them again
each second (tasks/alerting.py). settings() shows both, the webhook only as its scheme
and host, since its path or query often is its token.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from turnout.alerts import AlertRules, shown_url
from turnout.errors import BadInput
from turnout.spec import Options
from turnout.store import Store

_TYPES = {f.name: f.type for f in fields(Options)}
_ALERTS = "alerts."
_ALERT_TYPES = {_ALERTS + f.name: "float" for f in fields(AlertRules) if f.name != "webhook"}
THROTTLE = ("max_rows_per_second", "max_bytes_per_second")  # what a running worker takes


def set_options(name: str, values: dict[str, str], store: Store | None = None,
                ) -> dict[str, Any]:
    """Set the task's options from text values; returns them as saved."""
    store = store or Store()
    spec = store.get(name).spec
    typed = {key: _typed(key, text) for key, text in values.items()}
    options = {k: v for k, v in typed.items() if not k.startswith(_ALERTS)}
    alerts = {k[len(_ALERTS):]: v for k, v in typed.items() if k.startswith(_ALERTS)}
    if alerts.get("webhook") == "":
        alerts["webhook"] = None
    changed = replace(spec, options=replace(spec.options, **options),
                      alerts=AlertRules(**{**vars(spec.alerts), **alerts}))
    store.set_spec(name, changed)
    shown = {k: (shown_url(v) if v else "none") if k == _ALERTS + "webhook" else v
             for k, v in typed.items()}
    store.add_event(name, "info", "options set: " + ", ".join(
        f"{k} = {v}" for k, v in shown.items()))
    return shown


def settings(name: str, store: Store | None = None) -> dict[str, Any]:
    """The task's throttling and alerts as the console shows them (webhook: scheme and host)."""
    spec = (store or Store()).get(name).spec
    rules = spec.alerts
    return {
        "options": {key: getattr(spec.options, key) for key in THROTTLE},
        "alerts": {"webhook": shown_url(rules.webhook) if rules.webhook else None,
                   "delay_s": rules.delay_s, "delay_for_s": rules.delay_for_s},
    }


def _typed(key: str, text: str) -> Any:
    if key == _ALERTS + "webhook":
        return text
    kind = _TYPES.get(key) or _ALERT_TYPES.get(key)
    if kind is None:
        known = sorted(_TYPES) + [_ALERTS + "webhook", *sorted(_ALERT_TYPES)]
        raise BadInput(f"unknown option {key!r}: known ones are {known}")
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
