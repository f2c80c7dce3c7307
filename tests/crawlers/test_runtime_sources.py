"""sources.yaml: what is refused with a clear error, and what is only warned about."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from crawlers.sources import load_sources
from tests.crawlers.conftest import write_sources
from xianban.errors import ConfigError


def test_a_misspelt_politeness_setting_is_refused(tmp_path: Path) -> None:
    write_sources(tmp_path, politeness={"rate_per_sec": 1})
    with pytest.raises(ConfigError, match="rate_per_sec"):
        load_sources(tmp_path)


def test_a_source_listed_twice_is_refused(tmp_path: Path) -> None:
    write_sources(tmp_path)
    text = (tmp_path / "sources.yaml").read_text(encoding="utf-8")
    entry = text.split("sources:\n", 1)[1]
    (tmp_path / "sources.yaml").write_text(text + entry, encoding="utf-8")
    with pytest.raises(ConfigError, match="listed twice"):
        load_sources(tmp_path)


def test_an_unknown_key_is_kept_and_logged(tmp_path: Path) -> None:
    write_sources(tmp_path, selectors={"list": "li"})
    with capture_logs() as logs:
        sources = load_sources(tmp_path)
    assert sources["weibo-test"].model_extra == {"selectors": {"list": "li"}}
    assert logs[0]["event"] == "sources.unknown_keys" and logs[0]["keys"] == ["selectors"]


def test_a_missing_file_names_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sources\.yaml: missing"):
        load_sources(tmp_path)
