"""The briefing's charts, drawn server-side by matplotlib as SVG.

Chosen by measurement (``scripts/measure_charts.py``, docs/ARCHITECTURE.md): matplotlib
draws the three charts in-process in a fraction of the time ECharts needs in headless
Chromium, and it writes text as glyph outlines, so the SVG shows Chinese wherever it is
opened (a PDF, a mail client, a browser without CJK fonts): no tofu boxes. The output is
deterministic (fixed ids, no date), so two runs over the same numbers write the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from matplotlib import font_manager, rc_context
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Polygon as PolygonPatch

from reports.geo import ShenzhenMap
from xianban.errors import ConfigError

CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
)
BRAND, BRAND_DARK, MUTED, LINE = "#b91c1c", "#7f1d1d", "#6b7280", "#e5e7eb"
PREVIOUS = "#94a3b8"
EMPTY = "#eef1f5"
SHADES = LinearSegmentedColormap.from_list("cases", ["#fde8e8", "#f87171", BRAND_DARK])
STYLE: dict[Any, Any] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "xianban",
    "axes.edgecolor": LINE,
    "axes.labelcolor": "#1f2a37",
    "xtick.color": MUTED,
    "ytick.color": "#1f2a37",
}


@cache
def cjk_font() -> str:
    """The installed font family that has Chinese glyphs; a ConfigError names the fix.

    matplotlib caches its font list on first use, so a font installed afterwards (`make
    reports-tools` after `make run`) is only found by one rescan of the system's fonts.
    """
    for rescan in (False, True):
        if rescan:
            _add_fonts_installed_since_the_cache()
        installed = {f.name for f in font_manager.fontManager.ttflist}
        for family in CJK_FAMILIES:
            if family in installed:
                return family
    raise ConfigError(
        "no Chinese font for the charts (one of: " + ", ".join(CJK_FAMILIES) + "); "
        "install one with `make reports-tools` (Debian: fonts-wqy-microhei)"
    )


def _add_fonts_installed_since_the_cache() -> None:
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read
                continue


_STYLE_ATTR = re.compile(r'style="([^"]*)"')
_IDS = re.compile(r'(id="|url\(#|xlink:href="#)([^")]+)')


def _attributes(match: re.Match[str]) -> str:
    pairs = (p.split(":", 1) for p in match.group(1).split(";") if ":" in p)
    return " ".join(f'{k.strip()}="{v.strip()}"' for k, v in pairs)


def _svg(fig: Figure, name: str) -> str:
    """The figure as an inline ``<svg>`` element that needs no CSS.

    The console's Content-Security-Policy forbids inline styles, so matplotlib's
    ``style="fill: …"`` become presentation attributes (``fill="…"``), which no policy
    blocks and every renderer (Chromium, WeasyPrint) reads; ids get the chart's name as a
    prefix, so several charts can share one page.
    """
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = out.getvalue()
    text = text[text.index("<svg") :]  # inline: no XML declaration or doctype
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\s*<style type="text/css">.*?</style>', "", text, flags=re.S)
    text = text.replace("<svg ", f'<svg class="chart chart-{name}" stroke-linejoin="round" ', 1)
    text = _STYLE_ATTR.sub(_attributes, text)
    return _IDS.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", text)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    fig.patch.set_alpha(0)
    return fig


def funnel_chart(steps: Sequence[tuple[str, int | None]]) -> str:
    """Horizontal bars, first step on top; a step without data is labelled, not drawn."""
    with rc_context({**STYLE, "font.family": cjk_font()}):
        fig = _figure(7.2, 0.42 * len(steps) + 0.6)
        ax = fig.add_subplot()
        labels = [label for label, _ in steps][::-1]
        values = [value or 0 for _, value in steps][::-1]
        top = max(values, default=0) or 1
        ax.barh(labels, values, color=BRAND, height=0.62)
        for y, (_, value) in enumerate(list(steps)[::-1]):
            text = "暂无数据" if value is None else str(value)
            ax.text(
                (value or 0) + top * 0.01,
                y,
                text,
                va="center",
                fontsize=10,
                color=MUTED if value is None else "#1f2a37",
            )
        ax.set_xlim(0, top * 1.15)
        ax.xaxis.set_visible(False)
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0, labelsize=11)
        return _svg(fig, "funnel")


def compare_chart(
    rows: Sequence[tuple[str, int, int]],
    current_label: str,
    previous_label: str,
    *,
    name: str = "compare",
) -> str:
    """Two bars per row (this period, the one before), largest row on top."""
    with rc_context({**STYLE, "font.family": cjk_font()}):
        n = max(len(rows), 1)
        fig = _figure(7.2, 0.42 * n + 0.9)
        ax = fig.add_subplot()
        names = [r[0] for r in rows][::-1]
        ys = list(range(len(names)))
        current = [r[1] for r in rows][::-1]
        previous = [r[2] for r in rows][::-1]
        ax.barh([y + 0.19 for y in ys], current, height=0.36, color=BRAND, label=current_label)
        ax.barh([y - 0.19 for y in ys], previous, height=0.36, color=PREVIOUS, label=previous_label)
        top = max([*current, *previous, 1])
        for y, value in zip(ys, current, strict=True):
            ax.text(value + top * 0.01, y + 0.19, str(value), va="center", fontsize=9)
        ax.set_yticks(ys, names)
        ax.set_xlim(0, top * 1.15)
        ax.xaxis.set_visible(False)
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0, labelsize=10)
        ax.legend(loc="lower right", frameon=False, fontsize=9)
        return _svg(fig, name)


def district_map(
    shenzhen: ShenzhenMap,
    *,
    cases: dict[str, int],
    overdue: dict[str, int],
    points: Sequence[tuple[str, str, int]],
    marks: Sequence[tuple[str, float, float]],
) -> str:
    """The 10 districts shaded by cases, each labelled with its cases and overdue cases;
    a dot per street with cases (area by count) at the street's centroid; hotspots starred."""
    with rc_context({**STYLE, "font.family": cjk_font()}):
        fig = _figure(9.6, 5.6)
        ax = fig.add_subplot()
        top = max(cases.values(), default=0) or 1
        norm = Normalize(vmin=0, vmax=top)
        for name in shenzhen.districts:
            n = cases.get(name, 0)
            colour = SHADES(norm(n)) if n else EMPTY
            for polygon in shenzhen.shapes[name]:
                ax.add_patch(
                    PolygonPatch(
                        polygon[0], closed=True, facecolor=colour, edgecolor="#ffffff", lw=1.2
                    )
                )
        for name in shenzhen.districts:
            x, y = shenzhen.anchors[name]
            n, late = cases.get(name, 0), overdue.get(name, 0)
            dark = n and norm(n) > 0.55
            ax.text(
                x,
                y + 0.012,
                name,
                ha="center",
                va="bottom",
                fontsize=10,
                color="#ffffff" if dark else "#1f2a37",
            )
            ax.text(
                x,
                y + 0.004,
                f"工单 {n} · 超时 {late}",
                ha="center",
                va="top",
                fontsize=8,
                color="#ffffff" if dark else "#1f2a37",
            )
        located = [(shenzhen.street(d, s), n) for d, s, n in points if n]
        xs = [p.lon for p, _ in located if p]
        ys = [p.lat for p, _ in located if p]
        sizes = [18 + 26 * math.sqrt(n) for p, n in located if p]
        if xs:
            ax.scatter(xs, ys, s=sizes, color="#1d4ed8", alpha=0.55, edgecolors="#ffffff", lw=0.6)
        for label, x, y in marks:
            ax.scatter([x], [y], marker="*", s=260, color="#f59e0b", edgecolors=BRAND_DARK, lw=0.8)
            ax.annotate(
                label,
                (x, y),
                xytext=(5, 4),
                textcoords="offset points",
                fontsize=9,
                color=BRAND_DARK,
                bbox={"boxstyle": "round,pad=0.15", "fc": "#ffffff", "ec": "none"},
            )
        x0, y0, x1, y1 = shenzhen.bounds()
        ax.set_xlim(x0 - 0.01, x1 + 0.01)
        ax.set_ylim(y0 - 0.01, y1 + 0.01)
        ax.set_aspect(1 / math.cos(math.radians((y0 + y1) / 2)))
        ax.set_axis_off()
        return _svg(fig, "map")
