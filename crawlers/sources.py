"""Sources from configs/sources.yaml, validated; ``{sim}`` resolved against settings."""

from __future__ import annotations

from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field

from crawlers.politeness import Politeness
from xianban.configfile import load_yaml
from xianban.errors import ConfigError
from xianban.settings import Settings

log = structlog.get_logger(__name__)


class Source(BaseModel):
    """One crawl source: which adapter, where, what to ask, and how politely.

    Unknown keys are kept and logged rather than refused, so one engineer's new source
    kind cannot stop every other source from loading; adapter settings belong in
    ``options``.
    """

    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    adapter: str
    base_url: str
    queries: list[str] = Field(default_factory=lambda: [""])
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

    def url(self, settings: Settings) -> str:
        if self.base_url.startswith("{sim}"):
            if not settings.sim_url:
                raise ConfigError(f"source {self.id}: base_url needs the simulator (sim_url)")
            return settings.sim_url.rstrip("/") + self.base_url.removeprefix("{sim}")
        return self.base_url


class SourcesFile(BaseModel):
    sources: list[Source]


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
