"""Sources from configs/sources.yaml, validated; ``{sim}`` resolved against settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

import structlog
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crawlers.politeness import Politeness
from xianban.configfile import load_yaml
from xianban.errors import ConfigError
from xianban.settings import Settings

log = structlog.get_logger(__name__)


Need = Literal["browser", "login", "signing"]
QueryKind = Literal["keyword", "account", "place", "board", "listing"]


class WatchedAccount(BaseModel):
    """One account on a watch list: a local reporter who posts problems often (点子王)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="the platform's user id (uid, sec_user_id)")
    name: str = Field(min_length=1, description="display name, for ops")
    note: str = Field("", description="why the account is watched")


class Source(BaseModel):
    """One crawl source: which adapter, where, what to ask, and how politely.

    Unknown keys are kept and logged rather than refused, so one engineer's new source
    kind cannot stop every other source from loading; adapter settings belong in
    ``options``.
    """

    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field("", description="Chinese display name (console, sources list)")
    platform: str = Field(
        "", description="platform code the console groups by; default: options.platform or adapter"
    )
    adapter: str
    base_url: str
    needs: list[Need] = Field(
        default_factory=list, description="what crawling it takes beyond plain HTTP"
    )
    query_kind: QueryKind = Field(
        "keyword",
        description="what a query is: search words, an account id, a place id, a board "
        "(bar, district, fid) or nothing but the listing itself",
    )
    queries: list[str] = Field(default_factory=lambda: [""])
    watch: list[WatchedAccount] = Field(
        default_factory=list,
        description="a watch list: the accounts to follow, one task each (queries = their ids)",
    )
    pages: int = Field(1, ge=1, description="most pages fetched per task (all windows)")
    interval_s: float = Field(600, gt=0, description="seconds between two crawls")
    enabled: bool = True
    result_cap: int = Field(
        200, ge=1, description="most results the platform lists per query and time window"
    )
    lookback_days: float = Field(
        30, gt=0, description="how far back the first crawl of a windowed source reaches"
    )
    politeness: Politeness = Field(default_factory=Politeness)
    proxies: list[str] = Field(
        default_factory=list, description="forward proxy URLs to rotate over; none = direct"
    )
    options: dict[str, object] = Field(
        default_factory=dict, description="adapter-specific settings (generic adapters' maps)"
    )

    @model_validator(mode="after")
    def _derived(self) -> Self:
        if not self.platform:
            self.platform = str(self.options.get("platform") or self.adapter)
        if not self.name:
            self.name = self.id
        if self.watch:
            self.queries = [account.id for account in self.watch]
            self.query_kind = "account"
        return self

    def url(self, settings: Settings) -> str:
        if self.base_url.startswith("{sim}"):
            if not settings.sim_url:
                raise ConfigError(f"source {self.id}: base_url needs the simulator (sim_url)")
            return settings.sim_url.rstrip("/") + self.base_url.removeprefix("{sim}")
        return self.base_url


class SourcesFile(BaseModel):
    platforms: dict[str, str] = Field(
        default_factory=dict, description="platform code → Chinese name (console, CLI)"
    )
    sources: list[Source]


def platform_names(configs_dir: Path) -> dict[str, str]:
    """Chinese names of the platforms (``platforms:`` in sources.yaml)."""
    return dict(load_yaml(SourcesFile, configs_dir / "sources.yaml").platforms)


def load_sources(configs_dir: Path) -> dict[str, Source]:
    path = configs_dir / "sources.yaml"
    parsed = load_yaml(SourcesFile, path)
    sources: dict[str, Source] = {}
    for source in parsed.sources:
        if source.model_extra:
            log.warning("sources.unknown_keys", source=source.id, keys=sorted(source.model_extra))
        if source.id in sources:
            raise ConfigError(f"{path}: source {source.id!r} is listed twice")
        sources[source.id] = source
    return sources
