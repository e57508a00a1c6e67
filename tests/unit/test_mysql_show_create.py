"""Taking SHOW CREATE TABLE apart, and building a table again from its parts."""

from __future__ import annotations

from dataclasses import replace

from turnout.engines.mysql import ddl
from turnout.engines.mysql.native import parse
from turnout.model import Column, ForeignKey, Index, Table
from turnout.types import CanonicalType, Kind

SHOWN = """CREATE TABLE `t``x` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `code` char(4) NOT NULL,
  `note` varchar(10) DEFAULT 'a,b\\n''c' COMMENT 'it''s, here',
  `up` varchar(10) GENERATED ALWAYS AS (ucase(`note`)) VIRTUAL,
  PRIMARY KEY (`code`),
  UNIQUE KEY `by_note` (`note`(5)),
  KEY `seq` (`id`),
  FULLTEXT KEY `words` (`note`),
  CONSTRAINT `fk` FOREIGN KEY (`code`) REFERENCES `p` (`c`) ON DELETE CASCADE,
  CONSTRAINT `plain_fk` FOREIGN KEY (`id`) REFERENCES `q` (`id`),
  CONSTRAINT `positive` CHECK (`id` > 0)
) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=latin1 COMMENT='x'"""


def test_each_line_lands_in_its_part() -> None:
    shown = parse(SHOWN)
    assert shown.columns["note"] == "varchar(10) DEFAULT 'a,b\\n''c' COMMENT 'it''s, here'"
    assert shown.columns["up"] == "varchar(10) GENERATED ALWAYS AS (ucase(`note`)) VIRTUAL"
    assert [(k.name, k.unique) for k in shown.keys] == [
        ("by_note", True), ("seq", False), ("words", False)]
    assert shown.keys[0].definition == "UNIQUE KEY `by_note` (`note`(5))"
    assert shown.checks == [("positive", "CHECK (`id` > 0)")]
    assert shown.actions == {"fk": "ON DELETE CASCADE", "plain_fk": ""}
    assert shown.options == "ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT='x'"
    assert shown.left_out == []


def test_the_table_comes_back_with_the_key_its_counter_needs() -> None:
    shown = parse(SHOWN)
    int_ = CanonicalType(Kind.INT32)
    columns = tuple(
        Column(name, int_, autoincrement=name == "id", definition=shown.columns[name])
        for name in ("id", "code", "note"))
    table = Table("t`x", columns, primary_key=("code",), origin="mysql",
                  indexes=(Index("seq", ("id",)),), source_indexes=tuple(shown.keys),
                  generated=((3, Column("up", int_, definition=shown.columns["up"])),),
                  options=shown.options, checks=tuple(shown.checks), flavor="mariadb")
    assert ddl.carries(table, "mysql", "mariadb") and not ddl.carries(table, "mysql", "mysql")
    assert ddl.create_table_sql(table) == SHOWN.split("\n  UNIQUE")[0].replace(
        "CREATE TABLE", "CREATE TABLE IF NOT EXISTS") + "\n  KEY `seq` (`id`)\n) " + shown.options
    assert ddl.create_index_statements(table, {"seq"}) == [
        "ALTER TABLE `t``x` ADD UNIQUE KEY `by_note` (`note`(5))",
        "ALTER TABLE `t``x` ADD FULLTEXT KEY `words` (`note`)"]
    assert ddl.check_statements(table, set()) == [
        "ALTER TABLE `t``x` ADD CONSTRAINT `positive` CHECK (`id` > 0)"]
    fk = ForeignKey(("code",), "p", ("c",), "CASCADE", "RESTRICT", "fk", "ON DELETE CASCADE")
    assert ddl.foreign_key_sql(table, fk, "fk") == (
        "ALTER TABLE `t``x` ADD CONSTRAINT `fk` FOREIGN KEY (`code`) REFERENCES `p` (`c`) "
        "ON DELETE CASCADE")
    assert ddl.foreign_key_sql(table, replace(fk, clauses=""), "fk").endswith("(`c`)")
