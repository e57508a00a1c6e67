"""Keys past InnoDB's 3072 bytes once mapped to MySQL types are named at precheck, with a
fix that works: the server's own error at the schema step names no table."""

from __future__ import annotations

from tests.integration.helpers import execute
from turnout import api
from turnout.spec import TaskSpec, parse_casts, parse_types
from turnout.store import Store


def test_a_bytea_and_integer_key_is_named_at_precheck_and_the_cast_it_names_builds(
        store: Store, pg_url: str, mysql_url: str) -> None:
    execute(pg_url, "CREATE TABLE blobkey (b bytea, i int, PRIMARY KEY (b, i))",
            "INSERT INTO blobkey VALUES ('\\x00ff', 1)",
            "CREATE TABLE pair (id int PRIMARY KEY, x text, y varchar(1000))",
            "CREATE INDEX pair_x_y ON pair (x, y)")
    api.create_task(TaskSpec("keylen", pg_url, mysql_url), store)
    problems = api.precheck("keylen", store)["problems"]
    assert [p.split(" needs ")[0] for p in problems] == [
        "table blobkey: primary key (b, i)", "table pair: index pair_x_y (x, y)"], problems
    assert "--cast blobkey.b=binary(3068)" in problems[0], problems
    assert "--cast pair.x=varchar(384) --cast pair.y=varchar(384)" in problems[1], problems
    api.delete_task("keylen", store)

    casts = parse_casts(["blobkey.b=binary(3068)", "pair.x=varchar(384)", "pair.y=varchar(384)"])
    api.create_task(TaskSpec("keylen2", pg_url, mysql_url, types=parse_types("schema,full"),
                             casts=casts), store)
    assert api.precheck("keylen2", store)["problems"] == []
    assert api.run_task("keylen2", store=store) == "Completed", api.task_status("keylen2", store)
    api.delete_task("keylen2", store)
