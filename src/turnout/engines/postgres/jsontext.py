"""JSON and JSONB read as their text, so JSON `null` stays apart from SQL NULL.

psycopg parses JSON into Python values by default, which turns a JSON `null`
into None (SQL NULL to every writer) and a JSON string into a plain str that
a writer cannot tell from a document's text. Every connection turnout opens
loads them as JsonText instead, the form every engine hands JSON over in.
"""

from __future__ import annotations

from typing import Any

from turnout.model import JsonText


def load_json_as_text(conn: Any) -> None:
    """Make `conn` (and the cursors and loaders it makes) read json and jsonb as JsonText."""
    from psycopg.adapt import Loader

    class JsonTextLoader(Loader):
        def load(self, data: Any) -> JsonText:
            return JsonText(bytes(data).decode())

    for name in ("json", "jsonb"):
        conn.adapters.register_loader(name, JsonTextLoader)
