"""What binlog capture needs of a MySQL / MariaDB source, said before a task starts: server
settings, privileges, character sets the binlog's rows can be decoded from, and what
becomes of DDL. capture.py reads the binlog these allow."""

from __future__ import annotations

from turnout.engines.mysql import charsets, grants
from turnout.engines.mysql.dialect import quote
from turnout.engines.mysql.link import MysqlSource


def _undecodable(engine: MysqlSource, tables: list[str]) -> list[str]:
    """Text columns whose character set the binlog's rows cannot be decoded from (swe7,
    keybcs2, dec8…: Python has no codec, and their bytes would arrive in a text column)."""
    if not tables:
        return []
    marks = ", ".join(["%s"] * len(tables))
    found = engine.all(
        "SELECT table_name, column_name, character_set_name FROM information_schema.columns "
        f"WHERE table_schema = DATABASE() AND table_name IN ({marks}) "
        "AND character_set_name IS NOT NULL AND character_set_name <> 'binary'", tables)
    return [f"{table}.{column} holds text in character set {charset}, which turnout cannot "
            f"decode from the binlog: ALTER TABLE {quote(table)} CONVERT TO CHARACTER SET "
            f"utf8mb4 on the source, or leave the table out with --exclude {table}"
            for table, column, charset in found if not charsets.decodable(charset)]


def ddl_note(endpoint: object) -> str:
    return (f"DDL on {endpoint} is read from the binlog and made on the destination in "
            "order with the rows (docs/ddl.md)")


def capture_problems(engine: MysqlSource, tables: list[str] | None = None) -> list[str]:
    """Server settings and privileges the binlog capture needs, and text of `tables` in a
    character set Python cannot decode: one line each with the fix."""
    problems = _undecodable(engine, tables or [])
    wanted = {"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL",
              "binlog_row_metadata": "FULL", "log_bin_compress": "OFF",
              "binlog_transaction_compression": "OFF"}
    rows = dict(engine.all(
        "SHOW GLOBAL VARIABLES WHERE variable_name IN "
        "('log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', "
        "'binlog_row_value_options', 'log_bin_compress', 'binlog_transaction_compression')"))
    for name, value in wanted.items():
        have = rows.get(name)
        if have is None and name == "binlog_row_metadata":
            problems.append(f"{engine.endpoint} cannot log column names in the binlog "
                            "(binlog_row_metadata): use MySQL 8.0.1+ or MariaDB 10.5+")
        elif have is not None and have.upper() != value:
            fix = ("add log_bin to the server's configuration and restart it"
                   if name == "log_bin" else f"SET GLOBAL {name} = '{value}' (and in my.cnf)")
            if value == "OFF":  # the compressions
                fix += ", as turnout cannot read compressed binlog events"
            problems.append(f"{engine.endpoint} has {name} = {have}, capture needs {value}: {fix}")
    if "PARTIAL_JSON" in rows.get("binlog_row_value_options", "").upper():
        problems.append(f"{engine.endpoint} logs JSON updates as partial diffs "
                        "(binlog_row_value_options = PARTIAL_JSON), which do not carry the "
                        "document: SET GLOBAL binlog_row_value_options = '' (and in my.cnf)")
    if engine.options["resume_by"] == "gtid" and not engine.mariadb:
        problems.append(f"{engine.endpoint}: resume_by=gtid is implemented for MariaDB only; "
                        "use resume_by=file")
    problems += grants.source_problems(engine)
    return problems
