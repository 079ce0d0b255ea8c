"""Prometheus metrics. With several worker processes each writes to PROMETHEUS_MULTIPROC_DIR."""

from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.pool import Pool

REQUESTS = Counter(
    "callguard_http_requests_total",
    "HTTP requests by route and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "callguard_http_request_duration_seconds",
    "HTTP request latency by route.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


POOL_CHECKED_OUT = Gauge(
    "callguard_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
POOL_IDLE = Gauge(
    "callguard_db_pool_connections_idle",
    "Database connections idle in the pool.",
    multiprocess_mode="livesum",
)


def observe_pool(pool: Pool) -> None:
    checked_out = getattr(pool, "checkedout", None)
    idle = getattr(pool, "checkedin", None)
    if callable(checked_out) and callable(idle):
        POOL_CHECKED_OUT.set(checked_out())
        POOL_IDLE.set(idle())


_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    children = _CHILDREN.get(key)
    if children is None:  # labels() is a lookup under a lock: once per label set
        children = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
        if len(_CHILDREN) < 10_000:  # routes are templates, statuses few: bounded anyway
            _CHILDREN[key] = children
    children[0].inc()
    children[1].observe(seconds)


def render(multiproc_dir: Path | None) -> tuple[bytes, str]:
    if multiproc_dir is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiproc_dir))  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


CHECKS = Counter(
    "callguard_checks_total",
    "Check decisions by outcome (allowed, blocked, invalid) and error code.",
    ["outcome", "error"],
)


_CHECK_CHILDREN: dict[tuple[str, str], Any] = {}


def observe_checks(counts: dict[tuple[str, str], int]) -> None:
    """(outcome, error code or "") -> how many such decisions."""
    for key, count in counts.items():
        if count:
            child = _CHECK_CHILDREN.get(key)
            if child is None:  # outcomes and codes are a handful: bounded
                child = _CHECK_CHILDREN[key] = CHECKS.labels(*key)
            child.inc(count)
