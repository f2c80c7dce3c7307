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


def test_communities_are_real_and_placed() -> None:
    communities = load_gazetteer(CONFIGS).communities.communities
    assert len(communities) > 700
    assert communities["白石龙社区"] == (("龙华区", "民治街道"),)
    assert communities["葵涌社区"] == (("大鹏新区", "葵涌街道"),)
    assert not [name for name in communities if "虚拟" in name]


def test_street_codes_are_official() -> None:
    districts = load_gazetteer(CONFIGS).shenzhen.districts
    assert districts["龙华区"].streets["民治"] == "440309003"


def test_malformed_street_code_is_refused(configs: Path) -> None:
    _edit(configs, "shenzhen", "'440309003'", "'12345'")
    with pytest.raises(ConfigError, match="shenzhen"):
        load_gazetteer(configs)


def test_community_in_a_wrong_street_is_refused(configs: Path) -> None:
    _edit(configs, "communities", "白石龙社区: [[龙华区", "白石龙社区: [[福田区")
    with pytest.raises(ConfigError, match="白石龙社区: street 民治街道 is not in 福田区"):
        load_gazetteer(configs)


def test_alias_of_an_unknown_district_is_refused(configs: Path) -> None:
    _edit(configs, "shenzhen", "光明新区: 光明区", "光明新区: 光明县")
    with pytest.raises(ConfigError, match="光明新区: unknown district 光明县"):
        load_gazetteer(configs)
