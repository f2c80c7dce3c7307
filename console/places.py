"""Coordinates of a case's place for Open311: its street's centroid, in WGS-84.

The centroids are the briefing map's (``configs/map/streets.yaml``: one per street of the
gazetteer, hand-compiled, checked at load to lie inside its own district; see that
folder's README for provenance). They are in GCJ-02, the offset system of Chinese web
maps; GeoReport's ``lat``/``long`` are WGS-84, so they are converted back with the usual
iterative inverse of the GCJ-02 offset (error well under a metre, against centroids good
to a kilometre or two). A case known only to its district gets no point: a district's
centre would claim a precision nobody has. A community shares its street's point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from reports.geo import ShenzhenMap, load_map
from xianban.records import Geo

_A = 6378245.0
_EE = 0.00669342162296594323


def _offset(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 minus WGS-84 at a point in China, degrees (the published formula)."""
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    d_lon, d_lat = _offset(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Invert the offset by fixed-point iteration (converges in a few steps)."""
    wlon, wlat = lon, lat
    for _ in range(8):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (glon - lon), wlat - (glat - lat)
    return wlon, wlat


@dataclass(frozen=True, slots=True)
class Centroids:
    """``locate(geo)`` → (lat, long) in WGS-84, rounded to 5 decimals (about a metre)."""

    map: ShenzhenMap

    @classmethod
    def load(cls, configs_dir: Path) -> Centroids:
        return cls(load_map(configs_dir))

    def locate(self, geo: Geo) -> tuple[float, float] | None:
        if not geo.street:
            return None
        point = self.map.street(geo.district, geo.street)
        if point is None:
            return None
        lon, lat = gcj02_to_wgs84(point.lon, point.lat)
        return round(lat, 5), round(lon, 5)
