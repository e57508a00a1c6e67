"""Which MySQL statements are DDL of a captured table, the renames they make, and scripts
split into statements: pure text handling, no server."""

from __future__ import annotations

from turnout.engines.mysql.alter import split
from turnout.engines.mysql.ddlshadow import created, renamed_tables, renames, target


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


def test_renamed_tables_reads_rename_table_and_an_alter_that_only_renames() -> None:
    assert renamed_tables("RENAME TABLE acct TO acct2", "shop", "shop") == [("acct", "acct2")]
    assert renamed_tables("rename table `shop`.`acct` to `a b`;", "shop", "shop") == [
        ("acct", "a b")]
    assert renamed_tables("ALTER TABLE acct RENAME TO acct2", "shop", "shop") == [
        ("acct", "acct2")]
    assert renamed_tables("ALTER TABLE acct RENAME AS acct2", "shop", "shop") == [
        ("acct", "acct2")]
    assert renamed_tables("ALTER TABLE acct RENAME acct2", "shop", "shop") == [
        ("acct", "acct2")]
    # a swap, and a name in another database (None)
    assert renamed_tables("RENAME TABLE a TO tmp, b TO a, tmp TO b", "shop", "shop") == [
        ("a", "tmp"), ("b", "a"), ("tmp", "b")]
    assert renamed_tables("RENAME TABLE acct TO other.acct", "shop", "shop") == [
        ("acct", None)]
    # statements that rename something else, or more than the table
    for query in ("ALTER TABLE acct RENAME COLUMN a TO b", "ALTER TABLE acct RENAME INDEX i TO j",
                  "ALTER TABLE acct RENAME TO acct2, ADD COLUMN x int", "DROP TABLE acct",
                  "ALTER TABLE acct ADD COLUMN x int"):
        assert renamed_tables(query, "shop", "shop") is None, query
