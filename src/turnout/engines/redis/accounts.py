"""Migration accounts on Redis: an ACL user with only the commands a task runs there.

Both sides get the same rules, because both are read and written: the forward task
replicates from the source (PSYNC, REPLCONF) and writes its heartbeat there, applies to the
destination (RESTORE, MULTI/EXEC with the checkpoint, every replicated write command, WATCH
for the epoch), and after a switchover the reverse task does the same the other way;
verification reads both sides (DUMP, PEXPIRETIME, SCAN). So the account may read every key
and run data commands (`+@read +@write +@keyspace +@transaction`) and those few server
commands (INFO, COMMAND, SELECT, FLUSHDB for a resnapshot, DBSIZE, CLIENT LIST / SETNAME for
sessions, ACL WHOAMI / DRYRUN for precheck, EVAL for the epoch check of an agent's worker,
whose script runs with the caller's rights). It may not run ACL SETUSER, CONFIG, DEBUG,
SHUTDOWN, FLUSHALL, scripts, modules or any other admin command.

Without ACL SETUSER the account cannot put up a switchover's fence (which switches other
users to read-only), so a switchover runs as an account that may (turnout's own, see
docs/engines/redis.md); the migration account copies, follows and verifies.
"""

from __future__ import annotations

from typing import Any

from turnout.engines.base import check_account_name, check_account_role
from turnout.engines.capabilities import Accounts
from turnout.engines.redis import fence
from turnout.errors import BadInput

NAME_LIMIT = 64
RULES = ("resetkeys", "~*", "resetchannels", "-@all", "+@read", "+@write", "+@keyspace",
         "+@transaction", "+@connection", "-@dangerous", "+psync", "+replconf", "+info",
         "+command", "+select", "+flushdb", "+dbsize", "+restore", "+client|list",
         "+client|setname", "+client|getname", "+acl|whoami", "+acl|dryrun", "+eval",
         "+evalsha")
HIDDEN = ">***"


class RedisAccounts(Accounts):
    def __init__(self, client: Any, endpoint: object) -> None:
        self.client, self.endpoint = client, endpoint

    def create(self, user: str, password: str, role: str) -> list[str]:
        check_account_name(user, NAME_LIMIT)
        check_account_role(role)
        if user in fence.acl_users(self.client):
            raise BadInput(f"account {user} exists already on {self.endpoint}: choose another "
                           "name, or `turnout accounts drop` it first")
        self.client.execute_command("ACL", "SETUSER", user, "reset", "on", f">{password}",
                                    *RULES)
        return [" ".join(["ACL SETUSER", user, "reset on", HIDDEN, *RULES])]

    def revoke_write(self, user: str) -> list[str]:
        self._existing(user)
        rules = ("-@write", "-restore", "-flushdb")
        self.client.execute_command("ACL", "SETUSER", user, *rules)
        return [" ".join(["ACL SETUSER", user, *rules])]

    def drop(self, user: str) -> list[str]:
        self._existing(user)
        self.client.execute_command("ACL", "DELUSER", user)
        return [f"ACL DELUSER {user}"]

    def is_superuser(self) -> bool:
        """Whether this URL's account may change ACLs (and so give itself anything)."""
        try:
            return fence.may_set_acls(self.client)
        except Exception:  # noqa: BLE001 - not even ACL DRYRUN: no superuser either
            return False

    def _existing(self, user: str) -> None:
        check_account_name(user, NAME_LIMIT)
        if user not in fence.acl_users(self.client):
            raise BadInput(f"no account {user} on {self.endpoint}")
