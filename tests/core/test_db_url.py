"""DATABASE_URL in plain libpq form, TCP and Unix-socket, becomes an asyncpg URL."""

import pytest

from app.core.db import InvalidDatabaseUrl, async_url, plain_url


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


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:pw@h1:5432,h2:5433/calls?target_session_attrs=read-write",
        "postgresql://u:pw@/calls?host=h1:5432&host=h2:5433&target_session_attrs=read-write",
    ],
)
def test_both_multi_host_spellings_become_the_repeated_host_form(url: str) -> None:
    parsed = async_url(url)
    assert parsed.query["host"] == ("h1:5432", "h2:5433")
    assert parsed.query["target_session_attrs"] == "read-write"
    assert (parsed.username, parsed.password, parsed.database) == ("u", "pw", "calls")
    # asyncpg.connect (uploads, the listener) keeps only the last of repeated ?host=: the
    # libpq comma form goes back to it
    assert plain_url(parsed) == (
        "postgresql://u:pw@h1:5432,h2:5433/calls?target_session_attrs=read-write"
    )


def test_several_hosts_ask_for_the_primary_unless_told_otherwise() -> None:
    url = async_url("postgresql://u@h1,h2:6000/d")
    assert url.query["host"] == ("h1:5432", "h2:6000")
    assert url.query["target_session_attrs"] == "read-write"
    assert (
        async_url("postgresql://u@h1,h2/d?target_session_attrs=primary").query[
            "target_session_attrs"
        ]
        == "primary"
    )
    # a read replica's URL keeps libpq's default; one host gets nothing added
    assert "target_session_attrs" not in async_url("postgresql://u@h1,h2/d", writes=False).query
    assert "target_session_attrs" not in async_url("postgresql://u@h1/d").query


def test_sslmode_goes_back_to_libpq_spelling_for_asyncpg_connect() -> None:
    assert plain_url(async_url("postgresql://u@h/d?sslmode=require")) == (
        "postgresql://u@h/d?sslmode=require"
    )


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h1:5432,[::1]:5433/d",
        "postgresql://u@h1:5432,/d",
        "postgresql://u@h1:x,h2/d",
        "postgresql://u@h1,h2/d?host=h3",
    ],
)
def test_malformed_host_lists_are_refused_with_a_sentence(url: str) -> None:
    with pytest.raises(InvalidDatabaseUrl, match="DATABASE_URL"):
        async_url(url)
