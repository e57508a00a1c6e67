"""The write fence of a Redis: ACL, not CLIENT PAUSE.

freeze() takes the write commands from every ACL user but turnout's own
(`ACL SETUSER name clearselectors -@write`); the rules each user had are kept
whole (its `ACL LIST` line, password hashes included) in a hash on the server,
`_turnout:fence`, and unfreeze() puts them back exactly. Redis checks a user's
rights at every command, inside MULTI at EXEC and inside scripts, so the fence
holds for connections already open: there is no writer left in the middle of a
transaction to wait for.

CLIENT PAUSE WRITE is not used, even as a fallback: it pauses turnout's own
writes too (the heartbeat, the marker that proves zero lag, and the reverse
task, which writes to the old source for as long as the switchover stands), and
it lasts a bounded time. Where the ACL fence cannot hold (turnout logs in as the
same user as everyone else), freeze refuses with the fix instead.
"""

from __future__ import annotations

from typing import Any

from turnout.errors import BadInput

FENCE = "_turnout:fence"  # hash: user → the ACL rules it had before the fence
_REASON = "\x00reason"  # the field that holds why the fence is up (no user is named so)
HOME_DB = 0
OWN_ACCOUNT_FIX = ("give turnout an ACL user of its own (ACL SETUSER turnout on >PASSWORD "
                   "~* &* +@all) and put it in the task's URLs, or stop the application and "
                   "switch over with --no-freeze")


def acl_users(client: Any) -> dict[str, list[str]]:
    """Every ACL user and its rules, as `ACL LIST` gives them (a selector "(…)" one rule)."""
    users = {}
    for line in client.execute_command("ACL", "LIST"):
        words = _rules(line.decode() if isinstance(line, bytes) else line)
        if len(words) >= 2 and words[0] == "user":
            users[words[1]] = words[2:]
    return users


def _rules(line: str) -> list[str]:
    """Split an ACL LIST line on spaces outside parentheses."""
    words, depth, word = [], 0, ""
    for char in line:
        if char == " " and depth == 0:
            if word:
                words.append(word)
            word = ""
            continue
        depth += (char == "(") - (char == ")")
        word += char
    if word:
        words.append(word)
    return words


def whoami(client: Any) -> str:
    name = client.execute_command("ACL", "WHOAMI")
    return name.decode() if isinstance(name, bytes) else str(name)


def _allowed(client: Any, user: str, *command: str) -> bool:
    answer = client.execute_command("ACL", "DRYRUN", user, *command)
    return (answer.decode() if isinstance(answer, bytes) else str(answer)) == "OK"


def may_set_acls(client: Any) -> bool:
    """Whether the connection's own user may run ACL SETUSER."""
    return _allowed(client, whoami(client), "ACL", "SETUSER", "x")


def missing_rights(client: Any, where: object,
                   needs: tuple[tuple[str, ...], ...]) -> list[str]:
    """One line per command of `needs` that turnout's user may not run, with the fix;
    [] as well when the user may not ask (ACL DRYRUN refused): the task then says so
    itself at the first command refused."""
    me = whoami(client)
    missing = []
    for command in needs:
        try:
            if not _allowed(client, me, *command):
                missing.append(command[0])
        except Exception:  # noqa: BLE001 - no right to run ACL DRYRUN: nothing to tell
            return []
    if not missing:
        return []
    grants = " ".join(f"+{c.lower()}" for c in missing)
    return [f"the account {me} on {where} may not run {', '.join(missing)}, which a task "
            f"needs there: ACL SETUSER {me} {grants} (and ~* for the keys)"]


def bypass(client: Any) -> list[str]:
    """Enabled users but turnout's that may run ACL SETUSER, and so lift the fence; refused
    first where no fence can hold (shared_login)."""
    refused = shared_login(client)
    if refused:
        raise BadInput(refused)
    me = whoami(client)
    return [f"{user} (may run ACL SETUSER, which lifts the fence)"
            for user, rules in acl_users(client).items()
            if user != me and "on" in rules and _allowed(client, user, "ACL", "SETUSER", "x")]


def shared_login(client: Any) -> str | None:
    """Why no ACL fence can hold here (turnout logs in as `default`, the user every client
    without a name shares), None when it can."""
    me = whoami(client)
    if me != "default":
        return None
    return (f"turnout logs in as the default user, which every client without a user name "
            f"shares: an ACL fence would stop turnout's own writes with the application's; "
            f"{OWN_ACCOUNT_FIX}")


def frozen(client: Any) -> bool:
    client.execute_command("SELECT", HOME_DB)
    return bool(client.execute_command("EXISTS", FENCE))


def freeze(client: Any, reason: str, lock: list[str]) -> bool:
    """Take every write command from all users but turnout's (and log out the `lock`
    users: "name (why)" as bypass() gave them) until unfreeze(); whether this call did."""
    if frozen(client):
        return False
    refused = shared_login(client)
    if refused:
        raise BadInput(refused)
    me = whoami(client)
    locked = {entry.split(" ", 1)[0] for entry in lock}
    users = {u: r for u, r in acl_users(client).items() if u != me}
    saved: dict[str, str] = {u: " ".join(r) for u, r in users.items()}
    client.execute_command("SELECT", HOME_DB)
    client.execute_command("HSET", FENCE, _REASON, reason, *[x for kv in saved.items()
                                                             for x in kv])
    for user in users:  # after the rules are kept, so an interruption can be undone
        extra = ["off"] if user in locked else []
        client.execute_command("ACL", "SETUSER", user, "clearselectors", "-@write", *extra)
        if user in locked:
            _log_out(client, user)
    return True


def _log_out(client: Any, user: str) -> None:
    """End the connections of a user switched off (Redis keeps them open otherwise)."""
    client.execute_command("CLIENT", "KILL", "USER", user)


def unfreeze(client: Any) -> None:
    """Give every user the rules it had before freeze() (a user dropped since stays gone)."""
    client.execute_command("SELECT", HOME_DB)
    saved = client.execute_command("HGETALL", FENCE)
    if not saved:
        return
    pairs = dict(zip(saved[::2], saved[1::2], strict=True)) if isinstance(saved, list) \
        else saved
    current = acl_users(client)
    for raw_user, raw_rules in pairs.items():
        user = raw_user.decode() if isinstance(raw_user, bytes) else raw_user
        if user == _REASON or user not in current:
            continue
        rules = _rules(raw_rules.decode() if isinstance(raw_rules, bytes) else raw_rules)
        client.execute_command("ACL", "SETUSER", user, "reset", *rules)
    client.execute_command("DEL", FENCE)


def can_still_write(client: Any) -> set[str]:
    """The users, turnout's included, whose sessions can write through the fence: turnout's
    own (a client of the application logged in as turnout's user is not held back) and
    those the fence did not reach (made since)."""
    me = whoami(client)
    client.execute_command("SELECT", HOME_DB)
    fenced = {u.decode() if isinstance(u, bytes) else u
              for u in client.execute_command("HKEYS", FENCE)}
    return {me} | {u for u, rules in acl_users(client).items()
                   if u not in fenced and u != me and "on" in rules}
