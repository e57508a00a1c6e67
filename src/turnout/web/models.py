"""The shapes the REST API takes and returns, so /openapi.json documents them.

Responses mirror the dicts turnout.api returns (the `task status --json` contract); they
allow extra fields because that contract only ever adds fields, and the API must pass new
ones through rather than drop them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """A response shape that passes through fields added to the API later."""

    model_config = ConfigDict(extra="allow")


class Message(BaseModel):
    """Every error: one line a person can act on."""

    message: str


class TaskOptions(BaseModel):
    """The task file's [options]; unset ones keep turnout's defaults."""

    model_config = ConfigDict(extra="forbid")

    chunk_rows: int | None = Field(default=None, description="rows per snapshot chunk")
    batch_changes: int | None = Field(default=None,
                                      description="changes per apply transaction at most")
    poll_interval: float | None = Field(default=None, allow_inf_nan=False,
                                        description="seconds between idle capture polls")
    direct_copy: bool | None = Field(default=None,
                                     description="same engine: the destination pulls rows")
    on_truncate: Literal["apply", "stop"] | None = Field(
        default=None, description="a TRUNCATE at the source: apply it or stop the task")
    stall_timeout_s: float | None = Field(
        default=None, allow_inf_nan=False,
        description="seconds without data or keep-alive before a change stream is reconnected")
    max_rows_per_second: float | None = Field(
        default=None, ge=0, allow_inf_nan=False,
        description="rows the full step and apply write a second at most (0: no limit)")
    max_bytes_per_second: float | None = Field(
        default=None, ge=0, allow_inf_nan=False,
        description="bytes of row data written a second at most (0: no limit)")
    big_key_bytes: int | None = Field(
        default=None, gt=0,
        description="Redis: a key whose DUMP is bigger is copied in parts, not one RESTORE")


class TaskAlerts(BaseModel):
    """The task file's [alerts]: a JSON POST to `webhook` when something needs a person."""

    model_config = ConfigDict(extra="forbid")

    webhook: str | None = Field(default=None, description="http(s) URL the alerts go to")
    delay_s: float = Field(default=0.0, ge=0, allow_inf_nan=False,
                           description="alert when the delay stays above this (0: never)")
    delay_for_s: float = Field(default=60.0, ge=0, allow_inf_nan=False,
                               description="... for this many seconds")


class AlertsChange(BaseModel):
    """PATCH of a task's [alerts]: the fields given change, the others stay."""

    model_config = ConfigDict(extra="forbid")

    webhook: str | None = Field(default=None, description="http(s) URL; \"\" removes it")
    delay_s: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                  description="alert when the delay stays above this (0: never)")
    delay_for_s: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                      description="... for this many seconds")


class ShownAlerts(BaseModel):
    webhook: str | None = Field(description="the webhook's scheme and host, or null")
    delay_s: float
    delay_for_s: float


class TaskSettings(Open):
    """What the console's settings show: throttling, and alerts with the webhook shortened."""

    options: dict[str, float] = Field(description="max_rows_per_second, max_bytes_per_second")
    alerts: ShownAlerts


PhaseName = Literal["schema", "full", "incremental"]


def all_phases() -> list[PhaseName]:
    return ["schema", "full", "incremental"]


class TaskCreate(BaseModel):
    """`turnout task create` as JSON: the same options, the same validation."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="letters, digits, '_', '-' and '.'")
    source: str = Field(min_length=1, description="source database URL, e.g. sqlite:///app.db")
    dest: str = Field(min_length=1, description="destination database URL")
    tables: list[str] = Field(default_factory=list, description="names or globs (default '*')")
    exclude: list[str] = Field(default_factory=list, description="names or globs to leave out")
    rename: list[str] = Field(default_factory=list,
                              description="OLD=NEW for a table, TABLE.OLD=NEW for a column")
    types: list[PhaseName] = Field(default_factory=all_phases)
    cast: list[str] = Field(default_factory=list, description="TABLE.COLUMN=TYPE")
    where: list[str] = Field(default_factory=list,
                             description="TABLE=EXPR: move only the rows EXPR holds for")
    mask: list[str] = Field(default_factory=list,
                            description="TABLE.COLUMN=hash|null|redact|keep-last:N")
    options: TaskOptions = TaskOptions()
    alerts: TaskAlerts = TaskAlerts()


class DdlWaiting(Open):
    """What `turnout task ddl NAME --json` shows: the DDL the task waits at, or null."""

    task: str
    waiting: dict[str, Any] | None = Field(
        description="id, table, statement (the source's), held (why), proposed (statements)")


class DdlAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    how: Literal["apply", "apply-sql", "skip"] = Field(
        description="run the proposed statements, run `sql` instead, or change nothing")
    sql: str | None = Field(default=None, max_length=100_000,
                            description="the statements to run, for apply-sql")


class DdlResolved(Open):
    id: str
    table: str
    how: str
    ran: list[str]


class StartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resnapshot: bool = Field(default=False,
                             description="empty the destination tables and copy afresh")


class VerifyRequest(BaseModel):
    """`turnout verify`'s read-only options (repairs stay with the CLI)."""

    model_config = ConfigDict(extra="forbid")

    level: Literal["schema", "count", "content"] = Field(
        default="content", description="compare columns only, row counts, or every row")
    recheck: bool = Field(default=False, description="wait until the task has caught up, "
                          "then read the differing keys again")


class EndSessions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(min_length=1, description="ids of the sessions to disconnect")


class EndpointSessions(BaseModel):
    """`turnout sessions URL [--end ID]`: any endpoint, not only a task's."""

    model_config = ConfigDict(extra="forbid")

    url: str
    end: list[str] = Field(default_factory=list)


class TableProgress(Open):
    source: str
    dest: str
    rows_copied: int
    rows_total: int
    done: bool


class TaskStatus(Open):
    name: str
    state: str
    phase: str | None
    phase_title: str | None
    delay_s: float | None
    pid: int | None
    error: str | None
    source: str
    dest: str
    types: list[str]
    changes_applied: int
    updated: float
    tables: list[TableProgress]
    agent: str | None = None
    lease_expires: float | None = None


class Agent(Open):
    name: str
    host: str
    pid: int
    max_tasks: int
    alive: bool
    seen_s_ago: float
    tasks: list[str]


class Event(Open):
    id: int
    ts: float
    level: str
    message: str


class Session(Open):
    id: str
    user: str
    program: str
    client: str
    state: str
    writing: bool
    own: bool


class Precheck(Open):
    ok: bool
    problems: list[str]
    tables: list[dict[str, str]]
    switchover: list[str] = []  # what would stop a switchover's freeze, with the fix
    ddl: str | None = None  # what becomes of DDL on the source while the task follows it


class Deleted(BaseModel):
    deleted: str


class TableDiff(Open):
    source: str
    dest: str
    rows_source: int
    rows_dest: int
    missing: list[object]
    extra: list[object]
    different: list[object]


class VerifyResult(Open):
    consistent: bool
    tables: list[TableDiff]


class TableCount(BaseModel):
    table: str
    rows_done: int
    rows_total: int | None


class VerifyJob(BaseModel):
    """A verification running in the server's background, or its outcome."""

    state: Literal["idle", "running", "done", "failed"]
    started: float | None = None
    finished: float | None = None
    elapsed_s: float | None = None
    error: str | None = None
    result: VerifyResult | None = None
    progress: list[TableCount] = Field(default_factory=list)



class SwitchoverRequest(BaseModel):
    """`turnout switchover`'s options; unset ones keep its defaults (max_delay 5, freeze,
    session_timeout 60, no kill_sessions, no lock_accounts, grace 0, no on_switch)."""

    model_config = ConfigDict(extra="forbid")

    max_delay: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                    description="refuse to begin above this delay (seconds)")
    freeze: bool | None = Field(default=None, description="false: the application has been "
                                "stopped already, so writes are not frozen")
    session_timeout: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                          description="seconds to wait for writers to leave")
    kill_sessions: bool | None = Field(default=None,
                                       description="end those sessions instead of giving up")
    lock_accounts: bool | None = Field(default=None, description="lock out the accounts that "
                                       "could write past the freeze, until rollback or finish")
    grace: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                description="seconds between zero lag and the task's stop")
    on_switch: str | None = Field(default=None, description="a shell command to run when the "
                                  "workload may move (DNS, proxy, env file)")


class RollbackRequest(BaseModel):
    """`turnout rollback`'s options; unset ones keep its defaults."""

    model_config = ConfigDict(extra="forbid")

    freeze: bool | None = Field(default=None, description="false: the application has been "
                                "stopped already, so writes are not frozen")
    session_timeout: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                          description="seconds to wait for writers to leave")
    kill_sessions: bool | None = Field(default=None,
                                       description="end those sessions instead of giving up")
    lock_accounts: bool | None = Field(default=None, description="lock out the accounts that "
                                       "could write past the freeze, until switchover or finish")
    grace: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                description="seconds between zero lag and the task's stop")
    on_switch: str | None = Field(default=None, description="a shell command to run when the "
                                  "workload may move back (DNS, proxy, env file)")


class FinishRequest(BaseModel):
    """`turnout finish`'s options: the admin URLs drop the task's migration accounts."""

    model_config = ConfigDict(extra="forbid")

    keep_accounts: bool = Field(default=False, description="leave the migration accounts")
    admin_source: str | None = Field(default=None, description="an admin URL for the source")
    admin_dest: str | None = Field(default=None, description="an admin URL for the destination")


class SwitchoverJob(BaseModel):
    """The task's last switchover, rollback, abort or finish, running or ended, with what it
    said so far."""

    action: Literal["switchover", "rollback", "abort", "finish"] | None = None
    state: Literal["idle", "running", "done", "failed"]
    started: float | None = None
    finished: float | None = None
    elapsed_s: float | None = None
    error: str | None = None
    result: Open | None = None
    messages: list[str] = Field(default_factory=list)


class SwitchoverStatus(Open):
    """The checklist: every step in order, the last one done (None before any), and the job."""

    steps: list[str]
    done: str | None
    job: SwitchoverJob
