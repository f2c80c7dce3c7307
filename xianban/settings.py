"""Settings: one model, every field documented with its unit.

Read from environment variables ``XIANBAN_<FIELD>`` (nested: ``XIANBAN_KAFKA__BOOTSTRAP``)
and from an optional YAML file (``XIANBAN_CONFIG``, else ``./xianban.yaml`` if present).
The embedded default needs neither: memory bus, a SQLite file under ``.xianban/``, the
simulators on localhost.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from xianban.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


class KafkaSettings(BaseModel):
    bootstrap: str | None = Field(
        None,
        description="host:port[,host:port] of brokers; unset: `xianban run` starts a local "
        "broker (tansu, from the dev extra), `xianban worker` refuses to start",
    )
    enable_idempotence: bool = Field(
        False,
        description="idempotent producer; on for a real Kafka cluster, off against tansu "
        "(aiokafka's InitProducerId v0 is rejected there)",
    )
    linger_ms: int = Field(5, ge=0, description="producer batching delay, milliseconds")
    fetch_max_wait_ms: int = Field(
        100,
        ge=0,
        description="how long the broker may hold a consumer's fetch while it has no new "
        "records, milliseconds (aiokafka's default 500 made bench e2e's post->lead p50 "
        "0.46 s on tansu, 100: 0.21 s)",
    )
    client_id: str = Field("xianban", description="Kafka client.id prefix")
    session_timeout_ms: int = Field(
        10_000, ge=1000, description="consumer group session timeout, milliseconds"
    )
    heartbeat_interval_ms: int = Field(
        1_000, ge=100, description="consumer heartbeat interval, milliseconds"
    )
    request_timeout_ms: int = Field(15_000, ge=1000, description="client request timeout, ms")


class ApiSettings(BaseModel):
    """The ticket API, Open311 and webhooks (``XIANBAN_API__<FIELD>``)."""

    open311_public: bool = Field(
        False,
        description="answer Open311 GeoReport reads (public fields only) without an api_key; "
        "off: every read needs a token with cases:read, as api_key or a Bearer header",
    )
    open311_jurisdiction: str = Field(
        "sz.gov.cn", description="the jurisdiction_id Open311 clients may send (others: 404)"
    )
    open311_contact: str = Field(
        "深圳市 12345 政务服务便民热线", description="contact shown in the Open311 discovery"
    )
    rate_per_minute: int = Field(
        600, ge=1, description="requests one token may make per minute (a token bucket as big)"
    )
    webhook_attempts: int = Field(
        8, ge=1, description="attempts of a webhook delivery before it is parked"
    )
    webhook_backoff_s: float = Field(
        2.0, ge=0, description="wait before the first retry, seconds; doubles per attempt"
    )
    webhook_max_backoff_s: float = Field(3600.0, ge=0, description="longest retry wait, seconds")
    webhook_timeout_s: float = Field(5.0, gt=0, description="one delivery request, seconds")
    webhook_lease_s: float = Field(
        60.0,
        gt=0,
        description="a claimed delivery's lease, seconds (longer than the timeout); a "
        "dispatcher killed mid-request leaves it to be claimed again after this",
    )
    webhook_poll_s: float = Field(1.0, gt=0, description="outbox poll interval, seconds")
    webhook_concurrency: int = Field(
        4, ge=1, description="deliveries in flight per subscription (different cases)"
    )
    webhook_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="when set, consumers' webhook URLs must be on these hosts "
        '("hooks.example.cn", or "*.example.cn" for its subdomains)',
    )
    webhook_internal_hosts: list[str] = Field(
        default_factory=list,
        description="hosts a consumer's webhook may use although they resolve to internal "
        "addresses (loopback, private, link-local); these may also use http",
    )
    webhook_require_https: bool = Field(
        True, description="consumers' webhook URLs must be https (internal hosts excepted)"
    )


class Settings(BaseSettings):
    """Every knob of the system. Defaults run the embedded loop on one machine."""

    model_config = SettingsConfigDict(
        env_prefix="XIANBAN_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(Path(".xianban"), description="where the embedded store lives")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL, e.g. postgresql+asyncpg://postgres@127.0.0.1/test; "
        "default: sqlite+aiosqlite in data_dir",
    )
    bus: Literal["memory", "kafka"] = Field("memory", description="message bus backend")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    partitions: int = Field(3, ge=1, description="partitions per topic when we create topics")
    configs_dir: Path = Field(ROOT / "configs", description="sources, taxonomy, gazetteer, ...")
    console_host: str = Field("127.0.0.1", description="console bind address")
    console_port: int = Field(8000, ge=0, le=65535, description="console port (0 = any free)")
    console_public_url: str | None = Field(
        None,
        pattern=r"^https?://[^/\s]+(/\S*)?$",
        description="the console's address as duty staff open it (https://xianban.example.cn, "
        "behind a proxy), for the links in alerts and the start-up login link; unset: "
        "http://console_host:console_port, which only this machine can open",
    )
    api: ApiSettings = Field(default_factory=ApiSettings)
    sim_host: str = Field("127.0.0.1", description="simulators bind address")
    sim_port: int = Field(0, ge=0, le=65535, description="simulators port (0 = any free)")
    sim_url: str | None = Field(
        None,
        description="base URL of the running platform simulator; sources whose base_url "
        "starts with {sim} resolve against it (set by the embedded wiring)",
    )
    workorder_url: str | None = Field(
        None, description="base URL of the city work-order API; default: the simulator"
    )
    workorder_timeout_s: float = Field(10.0, gt=0, description="per request, seconds")
    retry_attempts: int = Field(
        3, ge=0, description="retries of a transient handling error before dead-lettering"
    )
    retry_backoff_s: float = Field(0.2, ge=0, description="first retry delay, doubles each time")
    poll_timeout_s: float = Field(0.5, gt=0, description="consumer poll wait, seconds")
    batch_size: int = Field(200, ge=1, description="records per consumer poll")
    batch_linger_s: float = Field(
        0.05,
        ge=0,
        description="a poll that brought fewer than batch_size records waits up to this "
        "long for more before the batch is handled, seconds (0: hand over what came)",
    )
    max_consecutive_bugs: int = Field(
        25,
        ge=1,
        description="unexpected handler errors in a row (not PermanentError) after which a "
        "worker stops non-zero instead of dead-lettering everything: that is a bug",
    )
    filing_concurrency: int = Field(
        16, ge=1, description="filings in flight at once to the work-order system (requests)"
    )
    extract_in_child: bool | None = Field(
        None,
        description="leadfinder: score posts (extraction, the model, SimHash) in a child "
        "process, a batch ahead of clustering and storing, so it runs on another core; "
        "unset: on in xianban run and bench e2e (every stage shares one process), off in "
        "run --once (the child's start costs more than its few hundred posts) and in a "
        "worker (one stage a process)",
    )
    concurrency: dict[str, int] = Field(
        default_factory=lambda: {"crawler": 8},
        description="per stage name: records of different keys a stage without batches "
        "handles at once (same key: in order); the crawler crawls 8 sources at a time",
    )
    schedule_every_s: float = Field(
        30.0, gt=0, description="`xianban worker scheduler`: seconds between rounds of due tasks"
    )
    schedule_lease_s: float = Field(
        90.0,
        gt=0,
        description="the scheduler's lease in the store, seconds (longer than a round): a "
        "standby scheduler takes over this long after the active one died",
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="`xianban worker`: serve Prometheus /metrics on this port (0: any free "
        "one, logged); unset: none (the console serves /metrics in `xianban run`)",
    )
    metrics_host: str = Field("0.0.0.0", description="address the worker's /metrics binds")
    dlq_max_bytes: int = Field(
        900_000,
        ge=16_384,
        description="largest dead letter put on the bus, bytes (keep under the broker's "
        "message.max.bytes, 1 MiB by default); a longer original is cut on the bus copy and "
        "kept whole in the store",
    )
    log_level: str = Field("INFO", description="structlog level")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("XIANBAN_CONFIG") or "xianban.yaml"
        return (
            init_settings,
            env_settings,
            YamlConfigSettingsSource(settings_cls, yaml_file=path),
        )

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'xianban.db').as_posix()}"

    @property
    def console_address(self) -> str:
        """Where people open the console, without a trailing slash."""
        public = self.console_public_url
        return (public or f"http://{self.console_host}:{self.console_port}").rstrip("/")


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation failures into one readable ConfigError."""
    path = os.environ.get("XIANBAN_CONFIG")
    if path and not Path(path).is_file():
        raise ConfigError(f"XIANBAN_CONFIG={path}: no such file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        raise ConfigError("invalid settings: " + "; ".join(lines)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"settings file is not valid YAML: {exc}") from None
