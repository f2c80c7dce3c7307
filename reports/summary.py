"""The briefing's opening paragraph, written from its numbers and nothing else.

Every clause is a template filled with a figure of the ``Briefing``; a clause whose
figure is missing says 暂无数据 or is left out, so the paragraph never states a number
the tables do not show. The formatting helpers are the ones the pages use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.period import CURRENT_LABELS, PREVIOUS_LABELS

if TYPE_CHECKING:
    from reports.briefing import Briefing, Change

NO_DATA = "暂无数据"


def pct(rate: float | None) -> str:
    """``92.3%``; ``—`` when there is nothing to divide."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def signed(value: int) -> str:
    return f"+{value}" if value > 0 else (f"−{-value}" if value < 0 else "0")


def change(row: Change) -> str:
    """``+3（+25.0%）``, ``−2（−40.0%）``, ``持平``, or ``+4（上期为 0）``."""
    if row.delta == 0:
        return "持平"
    if row.ratio is None:
        return f"{signed(row.delta)}（上期为 0）"
    ratio = row.ratio * 100
    shown = f"+{ratio:.1f}%" if ratio > 0 else f"−{-ratio:.1f}%"
    return f"{signed(row.delta)}（{shown}）"


def minutes(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f} 分钟"


def hours(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f} 小时"


def count(value: int | None, unit: str = "") -> str:
    return NO_DATA if value is None else f"{value}{unit}"


def summarise(b: Briefing) -> str:
    now, before = CURRENT_LABELS[b.period.kind], PREVIOUS_LABELS[b.period.kind]
    posts, leads, verified = (b.step(k).count for k in ("posts", "leads", "verified"))
    cases = b.step("cases").count or 0
    previous_cases = next(s.count for s in b.previous_funnel if s.key == "cases") or 0
    case_change = _case_change(cases, previous_cases)
    parts = [
        f"{b.period.label}，共采集帖子 {posts} 条，发现线索 {leads} 条，核实确认 {verified} 件，"
        f"立案工单 {cases} 件，较{before}（{previous_cases} 件）{case_change}。"
    ]
    sla = b.sla
    if sla.dispatch_due:
        parts.append(
            f"已到派单时限的 {sla.dispatch_due} 件中按时派出 {sla.dispatch_on_time} 件，"
            f"按时派单率 {pct(sla.dispatch_rate)}；"
            f"平均派单时长 {minutes(sla.avg_dispatch_minutes)}，"
            f"平均处置时长 {hours(sla.avg_handle_hours)}。"
        )
    elif cases:
        parts.append("本期工单均未到派单时限。")
    top_category = next((r for r in b.categories if r.current), None)
    top_district = next((r for r in b.districts if r.current), None)
    if top_category is not None and top_district is not None:
        sentence = (
            f"工单最多的类别是{top_category.name}（{top_category.current} 件），"
            f"最多的区是{top_district.name}（{top_district.current} 件）"
        )
        rising = max(b.categories, key=lambda r: (r.delta, r.current), default=None)
        if rising is not None and rising.delta > 0:
            sentence += f"；较{before}增加最多的类别是{rising.name}（{signed(rising.delta)} 件）"
        parts.append(sentence + "。")
    if sla.overdue:
        unit = b.units[0] if b.units and b.units[0].overdue else None
        tail = f"，最多的单位是{unit.unit}（{unit.overdue} 件）" if unit else ""
        parts.append(f"{now}立案工单中超时 {sla.overdue} 件{tail}。")
    elif cases:
        parts.append(f"{now}立案工单无超时。")
    if b.groups:
        top = b.groups[0]
        parts.append(f"类案 {len(b.groups)} 组，最大的一组是{top.key.label}（{top.count} 件）。")
    if b.hotspots:
        spot = b.hotspots[0]
        parts.append(f"热点街道首位是{spot.district}{spot.street}（{spot.cases} 件）。")
    return "".join(parts)


def _case_change(cases: int, previous: int) -> str:
    if cases == previous:
        return "持平"
    delta = cases - previous
    word = "增加" if delta > 0 else "减少"
    if previous == 0:
        return f"{word} {abs(delta)} 件"
    return f"{word} {abs(delta)} 件（{abs(delta) * 100 / previous:.1f}%）"
