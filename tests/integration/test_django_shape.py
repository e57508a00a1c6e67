"""A Django-shaped MariaDB schema moved to PostgreSQL by schema, full and incremental steps,
then used as an application would: boolean, uuid and timestamptz filters through psycopg."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest

from tests.integration.helpers import running, wait_caught_up
from tests.integration.test_mysql import my_execute
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store

# What `manage.py sqlmigrate` prints for a few models on MariaDB (Django 5): `bool` is
# tinyint(1), a UUIDField is MariaDB's native `uuid`, datetimes hold UTC in datetime(6),
# inline UNIQUE indexes are named after their column (so two models with a unique slug
# have two indexes called `slug`), unique_together and foreign keys get hashed names.
DJANGO = """
CREATE TABLE `auth_user` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY,
    `password` varchar(128) NOT NULL, `last_login` datetime(6) NULL,
    `is_superuser` bool NOT NULL, `username` varchar(150) NOT NULL UNIQUE,
    `is_active` bool NOT NULL DEFAULT 1, `date_joined` datetime(6) NOT NULL);
CREATE TABLE `shop_product` (`id` bigint AUTO_INCREMENT NOT NULL PRIMARY KEY,
    `slug` varchar(50) NOT NULL UNIQUE, `available` bool NOT NULL);
CREATE TABLE `blog_post` (`id` bigint AUTO_INCREMENT NOT NULL PRIMARY KEY,
    `slug` varchar(50) NOT NULL UNIQUE, `published` datetime(6) NULL);
CREATE TABLE `shop_order` (`id` bigint AUTO_INCREMENT NOT NULL PRIMARY KEY,
    `public_id` uuid NOT NULL UNIQUE, `paid` bool NOT NULL, `created` datetime(6) NOT NULL,
    `number` integer NOT NULL, `customer_id` integer NOT NULL, `product_id` bigint NOT NULL);
ALTER TABLE `shop_order` ADD CONSTRAINT `shop_order_customer_id_number_3f1c2a9e_uniq`
    UNIQUE (`customer_id`, `number`);
ALTER TABLE `shop_order` ADD CONSTRAINT `shop_order_customer_id_5d8e1b2c_fk_auth_user_id`
    FOREIGN KEY (`customer_id`) REFERENCES `auth_user` (`id`);
ALTER TABLE `shop_order` ADD CONSTRAINT `shop_order_product_id_0a9b8c7d_fk_shop_product_id`
    FOREIGN KEY (`product_id`) REFERENCES `shop_product` (`id`);
CREATE INDEX `shop_order_created_7b2e4f1a` ON `shop_order` (`created`);
INSERT INTO auth_user VALUES (1, 'x', NULL, 1, 'ada', 1, '2024-01-01 08:00:00.000001'),
                             (2, 'x', '2024-03-01 12:00:00', 0, 'bob', 0, '2024-02-01 09:30:00');
INSERT INTO shop_product VALUES (1, 'tea', 1), (2, 'cake', 0);
INSERT INTO blog_post VALUES (1, 'tea', '2024-01-05 10:00:00');
INSERT INTO shop_order VALUES
    (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1, '2024-01-02 10:00:00', 1, 1, 1),
    (2, 'b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22', 0, '2024-01-03 10:00:00', 2, 1, 2)
"""
# Django keeps UTC in MySQL's datetime(6); on PostgreSQL its DateTimeField is timestamptz
DATETIMES = {"auth_user": {"last_login": "timestamptz(6)", "date_joined": "timestamptz(6)"},
             "blog_post": {"published": "timestamptz(6)"},
             "shop_order": {"created": "timestamptz(6)"}}
UTC = dt.UTC


def test_a_django_schema_moves_to_postgres_and_serves_the_application(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, DJANGO)
    api.create_task(TaskSpec("dj", mysql_url, pg_url, casts=DATETIMES), store)
    with running(store, "dj"):
        wait_caught_up(store, "dj")
        my_execute(mysql_url, "INSERT INTO shop_order VALUES (3, "
                              "'c2eebc99-9c0b-4ef8-bb6d-6bb9bd380a33', 1, "
                              "'2024-01-04 23:30:00.5', 1, 2, 1);\n"
                              "UPDATE auth_user SET is_active = 1 WHERE id = 2")
        wait_caught_up(store, "dj")
    report = api.verify_task("dj", store)
    assert report["consistent"], report
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET TIME ZONE 'Europe/Berlin'")  # the application's zone: no matter
        paid = conn.execute("SELECT id FROM shop_order WHERE paid AND created >= %s "
                            "ORDER BY id", (dt.datetime(2024, 1, 2, 10, tzinfo=UTC),)).fetchall()
        assert paid == [(1,), (3,)]
        late = conn.execute("SELECT created FROM shop_order WHERE id = 3").fetchone()[0]
        assert late == dt.datetime(2024, 1, 4, 23, 30, 0, 500000, tzinfo=UTC)
        by_uuid = conn.execute("SELECT id, paid FROM shop_order WHERE public_id = %s",
                               (uuid.UUID("c2eebc99-9c0b-4ef8-bb6d-6bb9bd380a33"),)).fetchall()
        assert by_uuid == [(3, True)]
        kinds = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'shop_order'").fetchall())
        assert kinds["public_id"] == "uuid" and kinds["paid"] == "boolean"
        assert kinds["created"] == "timestamp with time zone"
        users = conn.execute("SELECT username FROM auth_user WHERE is_active = %s "
                             "AND NOT is_superuser", (True,)).fetchall()
        assert users == [("bob",)]
        # the application's constraints hold on the destination
        with pytest.raises(psycopg.errors.UniqueViolation):  # unique_together
            conn.execute("INSERT INTO shop_order (public_id, paid, created, number, customer_id, "
                         "product_id) VALUES (gen_random_uuid(), true, now(), 1, 1, 1)")
        conn.rollback()
        for insert in ("INSERT INTO shop_product VALUES (9, 'tea', true)",
                       "INSERT INTO blog_post VALUES (9, 'tea', NULL)"):
            with pytest.raises(psycopg.errors.UniqueViolation):  # two indexes named `slug`
                conn.execute(insert)
            conn.rollback()
        fks = {r[0] for r in conn.execute("SELECT conname FROM pg_constraint WHERE contype = 'f'")}
        assert fks == {"shop_order_customer_id_5d8e1b2c_fk_auth_user_id",
                       "shop_order_product_id_0a9b8c7d_fk_shop_product_id"}
        # a default Django's migration set is kept, so an insert without the column works
        conn.execute("INSERT INTO auth_user (password, is_superuser, username, date_joined) "
                     "VALUES ('x', false, 'cy', now())")
        assert conn.execute("SELECT is_active FROM auth_user WHERE username = 'cy'"
                            ).fetchone() == (True,)
