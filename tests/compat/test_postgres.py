"""The throwaway PostgreSQL of pg_helpers.py, which the Kafka Connect JDBC tests run their
connectors against: it starts on its own port, keeps what is written, and is gone after."""

from __future__ import annotations

import socket

from pg_helpers import Postgres


def test_a_throwaway_server_stores_rows_and_goes_away():
    with Postgres.started() as pg:
        pg.execute("create table users(id serial primary key, user_id text not null, "
                   "created_at date default '2024-05-06')")
        pg.execute("insert into users(user_id) values (%s), (%s)", ("user1", "user2"))
        rows = pg.execute("select id, user_id, created_at::text from users order by id")
        assert rows == [(1, "user1", "2024-05-06"), (2, "user2", "2024-05-06")]
        assert pg.jdbc_url == f"jdbc:postgresql://127.0.0.1:{pg.port}/rafka"
        port, workdir = pg.port, pg.workdir
    assert not workdir.exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the server is stopped"
