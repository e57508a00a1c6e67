"""One table's row filter and masks, applied to copied rows and to captured changes.

The incremental step sees changes, not rows, and an update's old image may
be only its key (PostgreSQL without REPLICA IDENTITY FULL). So a change is
judged by its new image alone: an insert or update whose new row matches is
written (an upsert, which also brings in a row that starts matching), one
whose new row does not match deletes the key (a row that stops matching
leaves; deleting a key the destination never held does nothing). That is
right whatever the old image held. A table without a key names rows by
their whole old values, which its captures always carry, so there the old
image decides too: an update into the filter is an insert, out of it a
delete, and changes to rows outside it are dropped.

Masks apply to the row written and to the key, so a hashed key names the
same destination row in every change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from turnout.filters.evaluate import matches
from turnout.filters.expr import Expr
from turnout.filters.masks import Mask
from turnout.model import Change, Key, Op, Row


@dataclass(frozen=True)
class RowRule:
    """What happens to one source table's rows on the way: kept if `where`, then masked."""

    columns: tuple[str, ...]  # the source table's columns, in the order rows come in
    key: tuple[str, ...]  # the source table's key columns ((): none)
    where: Expr | None = None
    masks: dict[str, Mask] = field(default_factory=dict)  # source column -> mask

    def keeps(self, values: dict[str, Any]) -> bool:
        return self.where is None or matches(self.where, values)

    def shape(self, rows: Iterable[Row]) -> list[Row]:
        """The rows the destination gets of these source rows, in the same order."""
        kept: list[Row] = []
        for row in rows:
            values = dict(zip(self.columns, row, strict=True))
            if self.keeps(values):
                kept.append(tuple(self._masked(c, v) for c, v in values.items()))
        return kept

    def change(self, change: Change) -> Change | None:
        """The change the destination gets (None: nothing to do there)."""
        if change.op in (Op.TRUNCATE, Op.DDL):
            return change
        if not self.key:
            return self._keyless(change)
        key = self._key(change.key)
        old_key = None if change.old_key is None else self._key(change.old_key)
        if change.op is Op.DELETE or change.after is None or not self.keeps(change.after):
            return replace(change, op=Op.DELETE, key=key, old_key=old_key, after=None)
        return replace(change, key=key, old_key=old_key, after=self._row(change.after))

    def _keyless(self, change: Change) -> Change | None:
        before = change.before if change.before is not None and self.keeps(change.before) \
            else None
        after = change.after if change.after is not None and self.keeps(change.after) else None
        if before is None and after is None:
            return None
        op = Op.UPDATE if before and after else Op.INSERT if after else Op.DELETE
        return replace(change, op=op, before=self._row(before), after=self._row(after))

    def _row(self, values: dict[str, Any] | None) -> dict[str, Any] | None:
        if values is None or not self.masks:
            return values
        return {c: self._masked(c, v) for c, v in values.items()}

    def _key(self, key: Key) -> Key:
        if not self.masks:
            return key
        return tuple(self._masked(c, v) for c, v in zip(self.key, key, strict=True))

    def _masked(self, column: str, value: Any) -> Any:
        mask = self.masks.get(column)
        return value if mask is None else mask.apply(value)
