"""The gazetteer's own checks: the shipped data is complete, a broken file fails loudly."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from leadfinder.gazetteer import load_gazetteer
from xianban.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SCRIPT = CONFIGS.parent / "scripts" / "build_gazetteer.py"
HAND_WRITTEN = ("metro.yaml", "places.yaml", "outside.yaml", "README.md")


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


def test_every_metro_line_and_station_is_placed() -> None:
    metro = load_gazetteer(CONFIGS).metro
    assert {f"{n}号线" for n in (*range(1, 15), 16, 20)} <= set(metro.lines)
    assert len(metro.stations) >= 300
    on_lines = {s for stations in metro.lines.values() for s in stations}
    assert on_lines == set(metro.stations)
    assert metro.stations["老街"] == ("罗湖区", "东门街道")
    assert metro.stations["深圳北站"] == ("龙华区", "民治街道")
    # Interchanges are one station, on every line they serve.
    assert sum("车公庙" in stations for stations in metro.lines.values()) == 4


def test_a_station_on_no_line_is_refused(configs: Path) -> None:
    _edit(
        configs,
        "metro",
        "  罗湖: [罗湖区, 南湖街道]",
        "  罗湖: [罗湖区, 南湖街道]\n  虚构站: [罗湖区, null]",
    )
    with pytest.raises(ConfigError, match="stations on no line"):
        load_gazetteer(configs)


def test_a_station_and_a_poi_of_one_name_must_agree(configs: Path) -> None:
    _edit(configs, "metro", "  白石洲: [南山区, 沙河街道]", "  白石洲: [南山区, 粤海街道]")
    with pytest.raises(ConfigError, match=r"station 白石洲 .* and POI 白石洲 .* disagree"):
        load_gazetteer(configs)


def test_an_alias_must_name_a_road_or_poi(configs: Path) -> None:
    _edit(configs, "places", "  春茧: 深圳湾体育中心", "  春茧: 深圳湾体育馆")
    with pytest.raises(ConfigError, match="alias 春茧: 深圳湾体育馆 is no road or POI"):
        load_gazetteer(configs)


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_gazetteer", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_rebuild_keeps_every_hand_written_part(
    configs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build script regenerates shenzhen.yaml and communities.yaml from package data;
    the hand-written files and the hand-curated keys survive it untouched."""
    folder = configs / "gazetteer"
    hand = {name: (folder / name).read_bytes() for name in HAND_WRITTEN}
    before = load_gazetteer(configs)
    build = _build_script()
    streets = {d: dict(info.streets) for d, info in before.shenzhen.districts.items()}
    communities = {
        n: [list(h) for h in homes] for n, homes in before.communities.communities.items()
    }
    # The packages the data comes from are build-time only: their answers are the shipped data.
    monkeypatch.setattr(build, "official_streets", lambda: streets)
    monkeypatch.setattr(build, "jionlp_communities", lambda: communities)
    build.main(configs)
    assert {name: (folder / name).read_bytes() for name in HAND_WRITTEN} == hand
    after = load_gazetteer(configs)
    assert after.shenzhen == before.shenzhen
    assert after.communities == before.communities
