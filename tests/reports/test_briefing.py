"""The briefing on a store with known counts: every number in the HTML is checked.

Each check removes what it checked from the page; at the end no digit may be left in the
visible text, so a number added to the template without a check here fails the test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from reports.briefing import Briefing, build_briefing
from reports.render import draw_charts, render_html, render_markdown
from tests.reports import fixture_store as fx
from xianban.settings import ROOT
from xianban.store import Store
from xianban.store.similar_cases import track_similar_case, update_similar_case

CONFIGS = ROOT / "configs"
SUMMARY = (
    "2026年11月23日至11月29日，共采集帖子 250 条，发现线索 12 条，核实确认 8 件，"
    "立案工单 7 件，较上周（3 件）增加 4 件（133.3%）。"
    "已到派单时限的 6 件中按时派出 4 件，按时派单率 66.7%；"
    "平均派单时长 74.0 分钟，平均处置时长 11.7 小时。"
    "工单最多的类别是噪声扰民（3 件），最多的区是龙华区（3 件）；"
    "较上周增加最多的类别是噪声扰民（+2 件）。"
    "本周立案工单中超时 2 件，最多的单位是南山区市场监督管理局（1 件）。"
    "类案 3 组，最大的一组是龙华区龙华街道 · 噪声扰民（3 件）。"
    "热点街道首位是龙华区龙华街道（3 件）。"
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{(tmp_path / 'reports.db').as_posix()}")
    try:
        await fx.build(opened)
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def briefing(store: Store) -> Briefing:
    return await build_briefing(store, fx.weekly(), now=fx.NOW, configs_dir=CONFIGS)


class Page:
    """Checks parts of the page and removes them, so what is left can be checked too."""

    def __init__(self, html: str) -> None:
        self.tree = HTMLParser(html)
        for node in self.tree.css("head, style, svg"):
            node.decompose()

    def one(self, selector: str) -> Node:
        found = self.tree.css(selector)
        assert len(found) == 1, f"{selector}: {len(found)} matches"
        return found[0]

    def text(self, selector: str, expected: str) -> None:
        node = self.one(selector)
        assert _squash(node.text()) == _squash(expected), selector
        node.decompose()

    def rows(self, selector: str, expected: list[list[str]]) -> None:
        table = self.one(selector)
        got = [[_squash(td.text()) for td in tr.css("td")] for tr in table.css("tbody tr")]
        assert got == expected, selector
        table.decompose()

    def digits_left(self) -> list[str]:
        assert self.tree.body is not None
        text = self.tree.body.text(separator="\n")
        return [line.strip() for line in text.splitlines() if re.search(r"\d", line)]


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_the_fixture_period() -> None:
    period = fx.weekly()
    assert period.title == "未诉先办每周简报（2026年11月23日至11月29日）"
    assert period.slug == "weekly-20261123-20261129"
    assert period.previous.label == "2026年11月16日至11月22日"


async def test_every_number_in_the_html_briefing(briefing: Briefing) -> None:
    html = render_html(briefing, draw_charts(briefing, CONFIGS))
    page = Page(html)
    page.text("#title", "未诉先办每周简报（2026年11月23日至11月29日）")
    page.text(
        ".period",
        "统计周期：2026-11-23 00:00 至 2026-11-30 00:00（对比上周：2026-11-16 00:00 至 "
        "2026-11-23 00:00）· 生成时间：2026-11-30 10:00",
    )
    page.text(".summary", SUMMARY)
    page.rows(
        "#funnel table",
        [
            ["采集帖子", "250", "—", "120", "本期抓取的帖子"],
            ["发现线索", "12", "4.8%", "3", "帖子级线索"],
            ["核实确认", "8", "66.7%", "3", "确认为真的事件（线索簇）"],
            ["立案工单", "7", "87.5%", "3", "本期立案"],
            ["按时派单", "4", "57.1%", "3", "在派单时限内派出"],
            ["办结结案", "2", "50.0%", "3", "已结案"],
            ["回访满意", "1", "50.0%", "2", "满意与基本满意之和"],
            ["复查通过", "暂无数据", "—", "暂无数据", "工单记录中尚无复查结果"],
        ],
    )
    page.rows(
        "#sla table",
        [
            ["按时派单率", "66.7%", "按时派出 4 件 / 已到派单时限 6 件"],
            ["加急工单按时派单率", "100.0%", "2 / 2 件"],
            ["一般工单按时派单率", "50.0%", "2 / 4 件"],
            ["按时办结率", "50.0%", "时限内办结 1 件 / 已到办结时限 2 件"],
            ["平均派单时长", "74.0 分钟", "立案至派单，已派单 5 件"],
            ["平均处置时长", "11.7 小时", "派单至办结，已办结 3 件"],
            ["超时工单", "2 件", "本期立案中超过派单或办结时限的工单"],
        ],
    )
    page.rows(
        "#table-categories",
        [
            ["噪声扰民", "3", "1", "+2（+200.0%）", "1"],
            ["消费维权", "2", "1", "+1（+100.0%）", "1"],
            ["市政设施", "1", "1", "持平", "0"],
            ["道路交通", "1", "0", "+1（上期为 0）", "0"],
        ],
    )
    zero = ["持平", "0"]
    page.rows(
        "#table-districts",
        [
            ["龙华区", "3", "1", "+2（+200.0%）", "1"],
            ["宝安区", "1", "1", "持平", "0"],
            ["福田区", "1", "1", "持平", "0"],
            ["南山区", "1", "0", "+1（上期为 0）", "1"],
            ["大鹏新区", "1", "0", "+1（上期为 0）", "0"],
            ["光明区", "0", "0", *zero],
            ["坪山区", "0", "0", *zero],
            ["盐田区", "0", "0", *zero],
            ["罗湖区", "0", "0", *zero],
            ["龙岗区", "0", "0", *zero],
        ],
    )
    page.rows(
        "#table-streets",
        [
            ["龙华区龙华街道", "3", "1", "+2（+200.0%）", "1"],
            ["福田区莲花街道", "1", "1", "持平", "0"],
            ["南山区南头街道", "1", "0", "+1（上期为 0）", "1"],
            ["大鹏新区南澳街道", "1", "0", "+1（上期为 0）", "0"],
        ],
    )
    page.rows(
        "#table-units",
        [["南山区市场监督管理局", "1", "1", "2"], ["龙华区生态环境局", "3", "1", "1"]],
    )
    page.rows(
        "#table-sources",
        [["tousu-feed", "50", "3", "2", "40.0"], ["weibo-keyword", "200", "9", "7", "35.0"]],
    )
    page.rows(
        "#table-hotspots",
        [
            ["1", "龙华区龙华街道", "3", "1", "噪声扰民", "龙观大道", "114.0300, 22.6500"],
            ["2", "南山区南头街道", "1", "1", "消费维权", "—", "113.9200, 22.5450"],
            ["3", "大鹏新区南澳街道", "1", "0", "道路交通", "南澳大道", "114.4800, 22.5300"],
            ["4", "福田区莲花街道", "1", "0", "市政设施", "莲花山公园", "114.0550, 22.5550"],
        ],
    )
    groups = [
        (
            "1. 龙华区龙华街道 · 噪声扰民",
            "本周 3 件 · 上周 1 件 · 增长 2 件 · 超时 1 件",
            ["C1", "C2", "C3"],
            ["P1"],
        ),
        (
            "2. XX健身 · 消费维权",
            "本周 2 件 · 上周 1 件 · 增长 1 件 · 超时 1 件",
            ["C4", "C5"],
            ["P3"],
        ),
        (
            "3. 福田区莲花街道 · 市政设施",
            "本周 1 件 · 上周 1 件 · 增长 0 件 · 超时 0 件",
            ["C6"],
            ["P2"],
        ),
    ]
    status = {
        "C1": "已结案",
        "C2": "处置中",
        "C3": "已办结待审核",
        "C4": "已结案",
        "C5": "已报送",
        "C6": "已派单",
        "P1": "已结案",
        "P2": "已结案",
        "P3": "已结案",
    }
    specs = {s.n: s for s in [*fx.CURRENT, *fx.PREVIOUS]}
    for i, (label, facts, now_ids, then_ids) in enumerate(groups, 1):
        page.text(f".group:nth-of-type({i}) h3", label)
        page.text(f".group:nth-of-type({i}) .group-facts", facts)
        rows = []
        for n, when in [(n, "本周") for n in now_ids] + [(n, "上周") for n in then_ids]:
            spec = specs[n]
            rows.append(
                [
                    f"XB-{n}",
                    f"【{'加急' if spec.urgent else '一般'}】{n} 测试工单",
                    f"{spec.opened:%Y-%m-%d %H:%M}",
                    status[n],
                    when,
                ]
            )
        page.rows(f".group:nth-of-type({i}) table", rows)
    captions = {
        "funnel": "图1 全流程漏斗（本周）",
        "categories": "图2 各类别工单（本周与上周）",
        "map": "图3 各区工单与超时（颜色越深工单越多；蓝点为街道工单，面积表示件数；★为热点街道）",
    }
    for chart, caption in captions.items():
        page.text(f"#chart-{chart} figcaption", caption)
    assert page.digits_left() == []


async def test_the_charts_carry_the_numbers_and_every_district(briefing: Briefing) -> None:
    charts = draw_charts(briefing, CONFIGS)
    labels = set(re.findall(r"<!-- (.*?) -->", charts.funnel))
    assert {"250", "12", "8", "7", "4", "2", "1", "暂无数据", "复查通过"} <= labels
    labels = set(re.findall(r"<!-- (.*?) -->", charts.map))
    districts = {
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
    assert districts <= labels
    assert {"工单 3 · 超时 1", "工单 1 · 超时 1", "工单 1 · 超时 0", "工单 0 · 超时 0"} <= labels
    for svg in (charts.funnel, charts.categories, charts.map):
        assert "style=" not in svg and "<style" not in svg  # the console's CSP forbids them
        assert "<text" not in svg  # glyphs as paths: no font needed to show Chinese


async def test_markdown_has_the_same_numbers(briefing: Briefing) -> None:
    md = render_markdown(briefing)
    assert md.startswith("# 未诉先办每周简报（2026年11月23日至11月29日）\n")
    assert SUMMARY in md
    assert "| 核实确认 | 8 | 66.7% | 3 | 确认为真的事件（线索簇） |" in md
    assert "| 复查通过 | 暂无数据 | — | 暂无数据 | 工单记录中尚无复查结果 |" in md
    assert "| tousu-feed | 50 | 3 | 2 | 40.0 |" in md
    assert (
        "1. **龙华区龙华街道 · 噪声扰民**：本周 3 件，上周 1 件，增长 2 件，超时 1 件"
        "（XB-C1、XB-C2、XB-C3）" in md
    )
    assert "&" not in md.replace("&&", "")  # not HTML-escaped


async def test_the_similar_section_shows_what_was_decided(store: Store) -> None:
    first = await build_briefing(store, fx.weekly(), now=fx.NOW, configs_dir=CONFIGS)
    top = first.groups[0].key
    await track_similar_case(
        store,
        group_id=top.group_id,
        kind=top.kind,
        category=top.category,
        label=top.label,
        by="chen",
    )
    await update_similar_case(
        store,
        top.group_id,
        by="chen",
        tags=["夜间施工"],
        unit="龙华区生态环境局",
        assignee="王工",
        status="following",
    )
    b = await build_briefing(store, fx.weekly(), now=fx.NOW, configs_dir=CONFIGS)
    page = Page(render_html(b, draw_charts(b, CONFIGS)))
    page.text(
        ".group:nth-of-type(1) .group-governance",
        "跟进中 · 责任单位：龙华区生态环境局（王工） · 标签：夜间施工",
    )
    assert len(page.tree.css(".group-governance")) == 0  # only the tracked group has one
    assert "href=" not in render_html(b, draw_charts(b, CONFIGS)).split('id="similar"')[1]
    assert (
        "（XB-C1、XB-C2、XB-C3）；跟进中，责任单位：龙华区生态环境局（王工），标签：夜间施工\n"
        in render_markdown(b)
    )


async def test_a_store_with_nothing_in_the_period_says_so(tmp_path: Path) -> None:
    empty = await Store.open(f"sqlite+aiosqlite:///{(tmp_path / 'empty.db').as_posix()}")
    try:
        b = await build_briefing(empty, fx.weekly(), now=fx.NOW, configs_dir=CONFIGS)
    finally:
        await empty.close()
    assert [s.count for s in b.funnel] == [0, 0, 0, 0, 0, 0, 0, None]
    assert b.summary.startswith("2026年11月23日至11月29日，共采集帖子 0 条")
    html = render_html(b, draw_charts(b, CONFIGS))
    assert "本期没有两件以上同类同地的工单" in html
    assert "本期没有采集到帖子" in html
