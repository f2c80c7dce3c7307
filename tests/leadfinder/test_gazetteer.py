"""The gazetteer's own checks: the shipped data is complete, a broken file fails loudly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leadfinder.gazetteer import load_gazetteer
from xianban.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_shipped_gazetteer_has_ten_districts_and_74_streets() -> None:
    gazetteer = load_gazetteer(CONFIGS)
    assert len(gazetteer.shenzhen.districts) == 10
    assert "大鹏新区" in gazetteer.shenzhen.districts
    streets = gazetteer.street_district()
    assert len(streets) == 74
    assert streets["葵涌街道"] == "大鹏新区"
    assert streets["民治街道"] == "龙华区"


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    shutil.copytree(CONFIGS / "gazetteer", tmp_path / "gazetteer")
    return tmp_path


def _edit(configs: Path, part: str, old: str, new: str) -> None:
    path = configs / "gazetteer" / f"{part}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_poi_pointing_at_a_street_of_another_district_is_refused(configs: Path) -> None:
    _edit(configs, "places", "深圳北站: [龙华区, 民治街道]", "深圳北站: [福田区, 民治街道]")
    with pytest.raises(ConfigError, match="深圳北站: street 民治街道 is not in 福田区"):
        load_gazetteer(configs)


def test_road_in_an_unknown_district_is_refused(configs: Path) -> None:
    _edit(configs, "places", "龙观大道: [龙华区, null]", "龙观大道: [龙花区, null]")
    with pytest.raises(ConfigError, match="龙观大道: unknown district 龙花区"):
        load_gazetteer(configs)


def test_unknown_key_is_refused(configs: Path) -> None:
    _edit(configs, "outside", "cities:", "citys:")
    with pytest.raises(ConfigError, match="outside"):
        load_gazetteer(configs)


def test_broken_yaml_names_the_file(configs: Path) -> None:
    (configs / "gazetteer" / "shenzhen.yaml").write_text("districts: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"shenzhen\.yaml"):
        load_gazetteer(configs)


def test_missing_file_names_the_file(configs: Path) -> None:
    (configs / "gazetteer" / "outside.yaml").unlink()
    with pytest.raises(ConfigError, match=r"outside\.yaml"):
        load_gazetteer(configs)
