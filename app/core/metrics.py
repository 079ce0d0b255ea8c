"""Prometheus metrics. With several worker processes each writes to PROMETHEUS_MULTIPROC_DIR."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
from prometheus_client.core import GaugeMetricFamily, Metric
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


_CHILDREN: dict[tuple[object, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """metric.labels(*labels), looked up once per label set (labels() takes a lock); routes
    are templates and statuses and outcomes few, so the cache stays small."""
    key = (id(metric), *labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*labels)
    return child


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    _child(REQUESTS, method, route, str(status)).inc()
    _child(LATENCY, method, route).observe(seconds)


@dataclass(frozen=True, slots=True)
class ScrapedGauge:
    """A gauge computed when /metrics is scraped, from the database rather than kept by the
    process: every worker answers the same, and a series whose row is gone is simply absent
    (a process's multiprocess file would keep it forever)."""

    name: str
    documentation: str
    label_names: tuple[str, ...]
    samples: tuple[tuple[tuple[str, ...], float], ...]


class _Scraped:
    def __init__(self, gauges: Sequence[ScrapedGauge]) -> None:
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        for gauge in self._gauges:
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.label_names)
            for labels, value in gauge.samples:
                family.add_metric(labels, value)
            yield family


def render(multiproc_dir: Path | None, scraped: Sequence[ScrapedGauge] = ()) -> tuple[bytes, str]:
    if multiproc_dir is None:
        body = generate_latest(REGISTRY)
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(multiproc_dir))  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    if scraped:
        extra = CollectorRegistry(auto_describe=False)
        extra.register(_Scraped(scraped))
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST


CHECKS = Counter(
    "callguard_checks_total",
    "Check decisions by outcome (allowed, blocked, invalid) and error code.",
    ["outcome", "error"],
)


def observe_checks(counts: dict[tuple[str, str], int]) -> None:
    """(outcome, error code or "") -> how many such decisions."""
    for (outcome, error), count in counts.items():
        if count:
            _child(CHECKS, outcome, error).inc(count)
