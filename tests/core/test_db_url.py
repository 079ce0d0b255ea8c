"""DATABASE_URL in plain libpq form, TCP and Unix-socket, becomes an asyncpg URL."""

import pytest

from app.core.db import InvalidDatabaseUrl, async_url


def test_tcp_form() -> None:
    url = async_url("postgresql://user:pa%40ss@db.example:5433/calls")
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "user",
        "pa@ss",
        "db.example",
        5433,
        "calls",
    )


def test_socket_form() -> None:
    url = async_url("postgresql://user@/calls?host=/var/run/postgresql")
    assert url.drivername == "postgresql+asyncpg"
    assert url.host is None
    assert url.query["host"] == "/var/run/postgresql"


def test_sslmode_is_translated_for_asyncpg() -> None:
    assert async_url("postgresql://u@h/d?sslmode=require").query == {"ssl": "require"}


@pytest.mark.parametrize("url", ["sqlite:///x.db", "mysql://u@h/d", "not a url"])
def test_non_postgresql_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidDatabaseUrl):
        async_url(url)
