"""Which MySQL statements are DDL of a captured table, the renames they make, and scripts
split into statements: pure text handling, no server."""

from __future__ import annotations

from turnout.engines.mysql.alter import split
from turnout.engines.mysql.ddlshadow import created, renames, target


def test_target_names_the_altered_table_in_this_database_only() -> None:
    for query in ("ALTER TABLE acct ADD COLUMN x int", "alter table `acct` drop column x",
                  "ALTER TABLE shop.acct MODIFY n bigint", "ALTER TABLE `shop`.`acct` ADD KEY (n)",
                  "CREATE INDEX i ON acct (n)", "CREATE UNIQUE INDEX i ON `acct` (n)",
                  "DROP INDEX i ON shop.acct", "ALTER ONLINE TABLE acct ADD COLUMN y int"):
        found = target(query, "shop", "shop")
        assert found is not None and found[0] == "acct", query
        start, end = found[1]
        assert query[start:end].replace("`", "").endswith("acct")
    for query in ("ALTER TABLE other.acct ADD COLUMN x int", "GRANT SELECT ON acct TO u",
                  "ALTER USER u IDENTIFIED BY 'p'", "FLUSH TABLES", "DROP TABLE acct",
                  "CREATE TABLE acct (id int)"):
        assert target(query, "shop", "shop") is None, query
    assert target("ALTER TABLE acct ADD x int", "elsewhere", "shop") is None


def test_created_and_renames() -> None:
    assert created("CREATE TABLE IF NOT EXISTS `new_t` (id int)", "shop", "shop") is not None
    assert created("CREATE TEMPORARY TABLE t (id int)", "shop", "shop") is None
    assert renames("ALTER TABLE t RENAME COLUMN a TO b, CHANGE COLUMN `c` `d` int, "
                   "CHANGE e e bigint") == (("a", "b"), ("c", "d"))


def test_split_keeps_semicolons_inside_quotes() -> None:
    script = "ALTER TABLE t COMMENT 'a;b';\nUPDATE t SET v = \"x;y\";\n\nSELECT `we;ird`;"
    assert split(script) == ["ALTER TABLE t COMMENT 'a;b'", 'UPDATE t SET v = "x;y"',
                             "SELECT `we;ird`"]
