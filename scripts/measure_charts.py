"""Measure the two ways to draw the briefing's charts server-side, as static SVG.

The same three charts (the funnel, cases by category this week and last, the district map
with 74 street points) drawn by matplotlib in-process and by ECharts (pyecharts) in
headless Chromium. Neither pyecharts nor ECharts is a dependency of the product; to run:

    .venv/bin/pip install --target /tmp/pe --no-deps pyecharts==2.1.0 prettytable simplejson wcwidth
    (cd /tmp/pe && npm pack echarts@5.6.0 && tar xzf echarts-5.6.0.tgz package/dist/echarts.min.js)
    PYTHONPATH=/tmp/pe .venv/bin/python scripts/measure_charts.py \
        /tmp/pe/package/dist/echarts.min.js

Prints JSON: seconds (cold: first chart in a fresh process or browser; warm: one more
briefing's three charts) and SVG bytes, for each.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CATEGORIES = [f"类别{i}" for i in range(18)]
FUNNEL = [
    ("采集帖子", 5210),
    ("发现线索", 812),
    ("核实确认", 301),
    ("立案工单", 288),
    ("按时派单", 270),
    ("办结", 201),
    ("回访满意", 180),
    ("复查通过", 160),
]


def matplotlib_charts() -> dict[str, Any]:
    started = time.perf_counter()
    from reports import charts, geo

    shenzhen = geo.load_map(ROOT / "configs")
    cases = {d: 10 + i * 7 for i, d in enumerate(shenzhen.districts)}
    overdue = {d: i for i, d in enumerate(shenzhen.districts)}
    points = [(s.district, s.street, 1 + i % 9) for i, s in enumerate(shenzhen.streets)]

    def draw() -> list[str]:
        return [
            charts.funnel_chart([(n, v) for n, v in FUNNEL]),
            charts.compare_chart(
                [(c, 5 + i, 3 + i % 4) for i, c in enumerate(CATEGORIES)], "本周", "上周"
            ),
            charts.district_map(shenzhen, cases=cases, overdue=overdue, points=points, marks=[]),
        ]

    first = draw()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    draw()
    warm = time.perf_counter() - started
    return {
        "cold_s": round(cold, 3),
        "warm_s": round(warm, 3),
        "svg_bytes": [len(s) for s in first],
        "text_as": "paths (no font needed to view)",
    }


async def echarts_charts(echarts_js: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright
    from pyecharts import options as opts  # type: ignore[import-not-found]
    from pyecharts.charts import Bar, Map  # type: ignore[import-not-found]

    from crawlers.browser import CHROMIUM, LAUNCH_FLAGS
    from reports import geo

    shenzhen = geo.load_map(ROOT / "configs")
    geojson = json.loads((ROOT / "configs" / "map" / "districts.geojson").read_text())
    init = opts.InitOpts(
        renderer="svg",
        width="800px",
        height="500px",
        animation_opts=opts.AnimationOpts(animation=False),
    )

    def options() -> list[str]:
        funnel = (
            Bar(init)
            .add_xaxis([n for n, _ in FUNNEL][::-1])
            .add_yaxis("数量", [v for _, v in FUNNEL][::-1])
            .reversal_axis()
        )
        compare = (
            Bar(init)
            .add_xaxis(CATEGORIES)
            .add_yaxis("本周", [5 + i for i in range(18)])
            .add_yaxis("上周", [3 + i % 4 for i in range(18)])
        )
        district = (
            Map(init)
            .add("工单", [(d, 10 + i * 7) for i, d in enumerate(shenzhen.districts)], "深圳")
            .set_global_opts(visualmap_opts=opts.VisualMapOpts(max_=80))
        )
        return [c.dump_options() for c in (funnel, compare, district)]

    script = """async ([js, geo, options]) => {
      if (!window.echarts) { eval(js); echarts.registerMap('深圳', geo); }
      const out = [];
      for (const o of options) {
        const el = document.createElement('div');
        el.style.width = '800px'; el.style.height = '500px';
        document.body.appendChild(el);
        const chart = echarts.init(el, null, {renderer: 'svg'});
        chart.setOption(JSON.parse(o));
        out.push(chart.renderToSVGString());
        chart.dispose(); el.remove();
      }
      return out;
    }"""
    js = await asyncio.to_thread(echarts_js.read_text)
    started = time.perf_counter()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=list(LAUNCH_FLAGS))
        page = await browser.new_page()
        first = await page.evaluate(script, [js, geojson, options()])
        cold = time.perf_counter() - started
        started = time.perf_counter()
        await page.evaluate(script, [js, geojson, options()])
        warm = time.perf_counter() - started
        await browser.close()
    return {
        "cold_s": round(cold, 3),
        "warm_s": round(warm, 3),
        "svg_bytes": [len(s) for s in first],
        "text_as": "<text> (the viewer needs the font)",
    }


def main() -> None:
    result = {"matplotlib": matplotlib_charts()}
    if len(sys.argv) > 1:
        result["echarts_in_chromium"] = asyncio.run(echarts_charts(Path(sys.argv[1])))
    out = io.StringIO()
    json.dump(result, out, ensure_ascii=False, indent=2)
    print(out.getvalue())


if __name__ == "__main__":
    main()
