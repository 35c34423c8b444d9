"""Settings, read once from the environment (prefix REGISTRY_)."""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    # Where the embedded default keeps its SQLite file and its signing keys.
    data_dir: Path = Path("data")
    # Empty means the embedded default: a SQLite file under data_dir.
    database_url: str = ""
    # A read replica (PostgreSQL streaming replica) for read-only paths that may lag a moment behind:
    # public lookups, statistics, the change feed. Empty: they read from database_url.
    read_database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # PEM-encoded EC P-256 private keys, separated by blank lines; the first one signs. Required in
    # production; in development keys are generated into data_dir/keys on first start.
    signing_keys: str = ""
    token_ttl_seconds: int = 3600
    token_issuer: str = "credit-registry"
    # Set: rate limits are shared by every process through this Redis; empty: kept in each process.
    redis_url: str = ""
    # Public query and web pages: requests per client address per window (429 + Retry-After past it).
    public_rate_limit: int = 120
    public_rate_window_seconds: int = 60
    log_level: str = "INFO"
    # `registry serve` waits this long for the database to answer before giving up (containers
    # may start before their database does).
    database_wait_seconds: int = 60
    # How often each process runs the expiry sweep in the background, and looks whether a day's
    # extract is due (app.exchange); 0 turns both off.
    sweep_interval_seconds: int = 300
    # Where the daily signed extracts are written (docs/operations.md, "Daily extracts"); empty:
    # data_dir/extracts. Several hosts behind one database must share this directory.
    extracts_dir: str = ""
    # Limits on what one request may hold (docs/operations.md, "Limits"): bodies over this size are
    # refused with 413 as they arrive (evidence uploads: 5 MiB per file); a body must arrive whole
    # within body_timeout_seconds (else 408) and a request head within head_timeout_seconds (else the
    # connection is closed).
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    body_timeout_seconds: float = Field(default=60.0, gt=0)
    head_timeout_seconds: float = Field(default=10.0, gt=0)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed, comma-separated
    # addresses or networks ("10.0.0.5, 10.1.0.0/16"); by default none: the client address is the
    # connection's own, so that nobody escapes the public rate limit by sending the header.
    trusted_proxies: str = ""
    # The origin printed in reports, their QR codes and links ("https://credit.example.gov.cn"); the
    # request's own origin when empty, which only development may rely on (API.md, Second release:
    # the Host header is never printed in a report).
    public_base_url: str = ""
    # Who issues the reports and runs the site (printed on every report and in every page's footer).
    issuer_name: str = "信用红黑名单登记系统（示例出具机构）"
    issuer_contact: str = "请以 REGISTRY_ISSUER_CONTACT 配置出具机构的联系电话或地址"
    operator_name: str = "信用红黑名单登记系统（示例运营单位）"
    operator_contact: str = "请以 REGISTRY_OPERATOR_CONTACT 配置运营单位的联系方式"
    # The site's registration number (ICP备案号 or similar); empty: not shown.
    operator_registration: str = ""
    # The privacy statement the footer links to: the registry's own page by default.
    privacy_url: str = "/privacy"
    # A TrueType font (.ttf/.ttc, TrueType outlines) with Chinese glyphs, embedded in every report;
    # empty: the first of the known Debian paths that exists (fonts-wqy-zenhei). Without one, reports
    # fall back to a PDF viewer's own CJK font (not embedded).
    report_font: str = ""

    @field_validator("public_base_url")
    @classmethod
    def _an_origin(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"REGISTRY_PUBLIC_BASE_URL: {value!r} must start with https:// or http://")
        return value

    # Webhooks (app.monitoring.delivery): how long a receiver has to answer one POST, and how often
    # each server process looks for deliveries due when it found none (0 turns the worker off; then
    # `registry deliveries run` delivers).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    delivery_poll_seconds: float = Field(default=0.5, ge=0)
    # Where `registry serve` runs the delivery worker on PostgreSQL: "process", one process of its own
    # beside the servers (app.monitoring.beside), or "server", one in each server process (SQLite:
    # always in the server, the only process).
    delivery_worker: Literal["process", "server"] = "process"

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"REGISTRY_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
                ) from None
        return ",".join(entries)

    @model_validator(mode="after")
    def _production_needs_real_settings(self) -> "Settings":
        if self.environment == "production":
            if not self.signing_keys:
                raise ValueError("REGISTRY_SIGNING_KEYS must be set in production (no generated keys)")
            if not self.database_url or self.database_url.startswith("sqlite"):
                raise ValueError("REGISTRY_DATABASE_URL must name a PostgreSQL database in production")
            if not self.public_base_url:
                raise ValueError("REGISTRY_PUBLIC_BASE_URL must be set in production (printed in reports)")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'registry.db').as_posix()}"

    @property
    def resolved_extracts_dir(self) -> Path:
        return Path(self.extracts_dir) if self.extracts_dir else self.data_dir / "extracts"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
