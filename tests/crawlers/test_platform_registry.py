"""Every shipped source's adapter builds from its config: a typo in the registry or in a
source's options fails here, not at 3 a.m. in the crawler."""

from __future__ import annotations

import pytest

from crawlers.base import SessionAdapter, WindowedAdapter
from crawlers.platforms import load_adapter
from crawlers.sources import Source, load_sources
from xianban.settings import ROOT

SOURCES = load_sources(ROOT / "configs")


@pytest.mark.parametrize("source", SOURCES.values(), ids=list(SOURCES))
def test_each_shipped_source_builds_its_adapter(source: Source) -> None:
    adapter = load_adapter(source.adapter, source.options)
    assert adapter.name == source.adapter


def test_platform_adapters_declare_what_they_need() -> None:
    assert isinstance(load_adapter("bilibili"), WindowedAdapter)
    assert isinstance(load_adapter("xhs"), SessionAdapter)
    assert not isinstance(load_adapter("zhihu"), WindowedAdapter | SessionAdapter)
    assert not isinstance(load_adapter("douyin"), WindowedAdapter | SessionAdapter)
