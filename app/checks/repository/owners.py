"""Every tenant's page of check records (a platform key naming no tenant), read owner by owner:
each tenant's records and the platform's are in one index order of their own, and no index
orders them all together (one would cost every check's write). Two ways, chosen per page by
the catalog's estimates (`merge_pays`): one ORDER BY over every matching record, whose cost
grows with the records, or `every_owners_page`, whose cost grows with the owners."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Select, cast, func, literal, select, text, true, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.checks.models import check_records as t

# The merged page's cost: a descent of every partition's index per owner to find the owners,
# and one more per owner for its newest match (about 5 and 6 us on PostgreSQL 15); the one
# sort reads every record (0.15-0.35 us each on PostgreSQL 15 and 18). Merged is chosen when
# the records are at least this many per owner and partition, plus HEAD_RECORDS per owner;
# docs/BENCHMARKS.md, issue 22, tenth round.
PARTITION_RECORDS = 25
HEAD_RECORDS = 30

# The records: the partitions' own estimates (pg_class, readable by every role). The owners:
# the distinct tenants of the hourly counts (each owner with records in a counted hour has a
# row there, the platform as ''; '*', every tenant's, is one more), from the statistics of
# check_counts, a table the serving role reads (pg_stats shows a column only to a role that
# may select it: the partitions are the migrating role's, granted to no one); none before
# check_counts is first analyzed.
ESTIMATES = text(
    """
    SELECT (SELECT count(*) FROM pg_inherits i
            WHERE i.inhparent = 'check_records'::regclass) AS partitions,
           (SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'check_records'::regclass) AS records,
           (SELECT CASE WHEN s.n_distinct >= 0 THEN s.n_distinct
                        ELSE -s.n_distinct * greatest(c.reltuples, 0) END
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
            WHERE c.oid = 'check_counts'::regclass AND s.attname = 'tenant_id') AS owners
    """
)


def merge_chosen(partitions: float, records: float, owners: float | None) -> bool:
    """Whether the merged page costs less than the one sort, by the catalog's estimates; with
    no estimate of the owners, the sort (whose cost is bounded by the records)."""
    if owners is None:
        return False
    return records >= owners * (PARTITION_RECORDS * partitions + HEAD_RECORDS)


async def merge_pays(session: AsyncSession) -> bool:
    """The catalog's estimates of the partitions, the records and the owners, weighed by
    `merge_chosen`. Estimates only choose the way: both give the same rows."""
    row = (await session.execute(ESTIMATES)).one()
    owners = None if row.owners is None else float(row.owners)
    return merge_chosen(float(row.partitions), float(row.records), owners)


def every_owners_page(
    conditions: list[Any], after: tuple[datetime, str] | None, limit: int
) -> Select[Any]:
    """The first `limit` records matching `conditions` of every tenant and the platform, newest
    first, after `after`, with no ORDER BY over them all:

    1. the owners, found in the records themselves (a skip scan of the first column of
       ix_check_records_tenant_decided), so no record is missed whatever the tenants table
       holds;
    2. each owner's newest match (its head), one index descent (with `phone`,
       ix_check_records_tenant_phone);
    3. the bound: the `limit`-th newest head. Those `limit` heads are matches at or after it,
       so every record of the page is at or after it, and an owner whose head is older has
       nothing on the page. With fewer owners than `limit`, no bound;
    4. each owner with a head at or after the bound gives its matches at or after it (at most
       `limit`), read backwards along its index; merged, the newest `limit` are the page.

    Rows read: typically about `limit` in all, where merging every owner's first page read
    `limit` of every owner (3 s at 10,000 tenants with pages of 101, against 0.5); at worst
    `limit` from each of `limit` owners, when every owner on the page has that many matches
    after the oldest head on it.

    Not for a filter on outcome, error or key: an owner with no match would be walked to its
    first record in index order, slower than the one sort when the filter matches little (5.5
    s against 1.1 s for a key with no record, at 4.8 million). Those pages sort."""
    if after is not None:
        conditions = [*conditions, tuple_(t.c.decided_at, t.c.id) < tuple_(*after)]
    order = (t.c.tenant_id.desc(), t.c.decided_at.desc(), t.c.id.desc())
    first = select(t.c.tenant_id).where(t.c.tenant_id.is_not(None))
    owners = first.order_by(t.c.tenant_id).limit(1).cte("owners", recursive=True)
    following = (
        select(t.c.tenant_id)
        .where(t.c.tenant_id > owners.c.tenant_id)
        .order_by(t.c.tenant_id)
        .limit(1)
        .scalar_subquery()
        .correlate(owners)
    )
    owners = owners.union_all(select(following).where(owners.c.tenant_id.is_not(None)))
    head = (
        select(t.c.decided_at, t.c.id)
        .where(t.c.tenant_id == owners.c.tenant_id, *conditions)
        .order_by(*order)
        .limit(1)
        .lateral("head")
    )
    heads = (
        select(owners.c.tenant_id, head.c.decided_at, head.c.id)
        .select_from(owners)
        .join(head, true())
        .cte("heads")
    )
    platform = select(t.c.decided_at, t.c.id).where(t.c.tenant_id.is_(None), *conditions)
    every_head = union_all(
        select(heads.c.decided_at, heads.c.id), platform.order_by(*order).limit(1)
    ).subquery("every_head")
    bound = (
        select(every_head)
        .order_by(every_head.c.decided_at.desc(), every_head.c.id.desc())
        .offset(limit - 1)
        .limit(1)
        .cte("bound")
    )
    lowest = tuple_(
        func.coalesce(
            select(bound.c.decided_at).scalar_subquery(),
            cast(literal("-infinity"), DateTime(timezone=True)),
        ),
        func.coalesce(select(bound.c.id).scalar_subquery(), literal("")),
    )
    on_page = tuple_(t.c.decided_at, t.c.id) >= lowest
    own = select(t).where(t.c.tenant_id == heads.c.tenant_id, *conditions, on_page)
    per_tenant = own.order_by(*order).limit(limit).lateral("per_tenant")
    tenants = (
        select(per_tenant)
        .select_from(heads)
        .join(per_tenant, true())
        .where(tuple_(heads.c.decided_at, heads.c.id) >= lowest)
    )
    mine = select(t).where(t.c.tenant_id.is_(None), *conditions, on_page)
    merged = union_all(tenants, mine.order_by(*order).limit(limit)).subquery("merged")
    return select(merged).order_by(merged.c.decided_at.desc(), merged.c.id.desc()).limit(limit)
