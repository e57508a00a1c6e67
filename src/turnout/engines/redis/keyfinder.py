"""Which keys a replicated command touches, so a task that copies only some keys (`--tables`
takes key globs for Redis) applies the commands on its keys and leaves the others.

Key positions come from the source's own COMMAND INFO (first key, last key, step), read
once per command name; commands whose keys move (ZUNIONSTORE's numkeys, say) or that are
containers of subcommands (XGROUP, OBJECT) are asked of COMMAND GETKEYS each time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from turnout.errors import OperationFailed

Positions = tuple[int, int, int] | None  # first, last, step; None: ask GETKEYS


class KeyFinder:
    """The keys of a command, by the source's command table."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._positions: dict[bytes, Positions] = {}

    def _lookup(self, name: bytes) -> Positions:
        info = self.client.execute_command("COMMAND", "INFO", name.decode()).get(
            name.decode().lower())
        if not info or "movablekeys" in info.get("flags", ()) or info.get("subcommands"):
            return None
        return int(info["first_key_pos"]), int(info["last_key_pos"]), int(info["step_count"])

    def keys(self, args: list[bytes]) -> list[bytes]:
        name = args[0].lower()
        if name not in self._positions:
            self._positions[name] = self._lookup(name)
        positions = self._positions[name]
        if positions is None:
            import redis

            try:
                found = self.client.command_getkeys(*args)
                return [k if isinstance(k, bytes) else str(k).encode() for k in found]
            except redis.ResponseError:
                return []  # a command without keys
        first, last, step = positions
        if first == 0:
            return []
        end = len(args) + last if last < 0 else last
        return args[first:end + 1:step]


def selected(finder: KeyFinder, selects: Callable[[str], bool],
             args: list[bytes]) -> bool:
    """Whether the task applies this command: all its keys selected, or none of them (then
    not); a command on keys on both sides of the patterns cannot be applied in part."""
    keys = finder.keys(args)
    if not keys:
        if args[0].upper() in (b"FLUSHDB", b"FLUSHALL"):
            raise OperationFailed(
                f"{args[0].decode()} on the source, while the task copies only some keys: "
                "start the task again with --resnapshot")
        return True
    chosen = [selects(k.decode("utf-8", errors="backslashreplace")) for k in keys]
    if all(chosen):
        return True
    if not any(chosen):
        return False
    raise OperationFailed(
        f"{args[0].decode()} on the source touches keys inside and outside the task's key "
        f"patterns ({', '.join(k.decode(errors='replace') for k in keys[:4])}): widen "
        "--tables so both are copied, then start again with --resnapshot")
