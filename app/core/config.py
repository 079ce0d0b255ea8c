"""The one settings class. Read from the environment (and an optional .env) once."""

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CALLGUARD_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
        description="postgresql:// URL; unset means the embedded PostgreSQL in data_dir.",
    )
    read_database_url: str | None = Field(
        default=None,
        description="postgresql:// URL of a read replica for audit listings, exports, statistics "
        "and number history (unset: the primary); unreachable, those reads use the primary.",
    )
    data_dir: Path = Field(default=Path(".callguard"), description="Embedded database and state.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed (none).",
    )
    max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Request line and headers; larger is 431."
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="A connection must complete its request headers in this."
    )
    keep_alive_s: int = Field(default=5, ge=1, description="Idle kept-alive connections close.")
    max_connections: int = Field(
        default=2048, ge=1, description="Per worker; requests beyond get 503 (uvicorn)."
    )

    max_body_bytes: int = Field(default=4 * MIB, ge=1024, description="JSON request bodies.")
    max_upload_bytes: int = Field(default=4096 * MIB, ge=1024, description="Bulk file uploads.")

    db_timeout_s: float = Field(
        default=5.0, gt=0, description="Connect, pool-wait and statement timeout for requests."
    )
    db_pool_size: int = Field(default=10, ge=1, le=200)
    check_writer_slots: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Batches of checks in flight per worker process (each its own audit lane).",
    )
    check_stage_timers: bool = Field(
        default=False,
        description="Log each check batch's stages (lookup, decide and write) with their times.",
    )
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    otel: bool = Field(
        default=False,
        description="FastAPI's OpenTelemetry traces, metrics and logs (off: Prometheus only).",
    )

    key_rate_per_s: float = Field(
        default=1000.0, gt=0, description="Request budget per API key (all workers together)."
    )
    key_burst: float = Field(default=2000.0, ge=1, description="Token-bucket capacity per key.")
    idempotency_retention_s: int = Field(default=86400, ge=60)
    idempotency_abandon_s: int = Field(
        default=60, ge=5, description="An unfinished Idempotency-Key claim older than this is free."
    )
    long_read_slots: int = Field(
        default=4,
        ge=1,
        le=64,
        description="CSV exports and chain verifications running at once, per worker process.",
    )
    long_reads_per_tenant: int = Field(
        default=2, ge=1, le=64, description="Of those, at most this many for one tenant."
    )
    export_send_timeout_s: float = Field(
        default=30.0, gt=0, description="An export whose client takes no data this long ends."
    )
    upload_slots: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Uploads merging at once per worker process (each holds a connection).",
    )
    uploads_per_tenant: int = Field(
        default=1, ge=1, le=64, description="Of those, at most this many for one tenant."
    )
    attempt_retention_days: int = Field(
        default=1830,
        ge=1,
        description="Call attempts are kept this long (whole months dropped): evidence for years.",
    )
    scrub_retention_days: int = Field(
        default=7, ge=1, description="A scrub's result file is kept this long; the job stays."
    )
    key_listener: bool = Field(
        default=True, description="Listen for key changes from other processes."
    )

    # webhooks (API-2.md section 17; app/webhooks)
    webhook_allow_http: bool = Field(
        default=False, description="Accept http:// webhook URLs (tests, local set-ups only)."
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Deliver to loopback, private, link-local and other non-public addresses "
        "(tests, local set-ups only).",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, description="A delivery attempt's whole time, connect to answer."
    )
    webhook_retry_min_s: float = Field(
        default=5.0, gt=0, description="The first retry's delay; each next one doubles."
    )
    webhook_retry_max_s: float = Field(default=3600.0, gt=0, description="The longest delay.")
    webhook_retry_for_s: float = Field(
        default=86400.0, gt=0, description="A delivery is retried this long, then `failed`."
    )
    webhook_disable_after_s: float = Field(
        default=86400.0, gt=0, description="A hook failing this long without a success is disabled."
    )
    webhook_sends: int = Field(
        default=16, ge=1, le=256, description="Deliveries in flight at once per worker process."
    )
    webhook_poll_s: float = Field(
        default=1.0, gt=0, description="How often the delivery worker looks for due deliveries."
    )
    webhook_retention_days: int = Field(
        default=30, ge=1, description="Finished deliveries are kept this long, then purged."
    )

    log_level: str = "INFO"
    log_phone_numbers: bool = Field(
        default=False, description="Include phone numbers in logs (off by default: privacy)."
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"),
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"CALLGUARD_TRUSTED_PROXIES: {item!r} is not an IP address or network"
                ) from None
        return ",".join(items)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
