"""Settings, read once from the environment (prefix REGISTRY_)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
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
    # How often each process runs the expiry sweep in the background; 0 turns it off.
    sweep_interval_seconds: int = 300

    @model_validator(mode="after")
    def _production_needs_real_settings(self) -> "Settings":
        if self.environment == "production":
            if not self.signing_keys:
                raise ValueError("REGISTRY_SIGNING_KEYS must be set in production (no generated keys)")
            if not self.database_url or self.database_url.startswith("sqlite"):
                raise ValueError("REGISTRY_DATABASE_URL must name a PostgreSQL database in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'registry.db').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
