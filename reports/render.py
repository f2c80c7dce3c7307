"""The briefing as HTML (a page, or the console's section), Markdown for chat, and PDF.

One template renders the body; the file adds print styles around it, the console its own
page. Jinja autoescapes everything and masks phone and ID numbers in every value (the
console's hook), so a case title quoting a post cannot inject markup or leak a number.
The PDF is WeasyPrint's rendering of the same HTML (charts are inline SVG).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from console.masking import Identifier, mask_for_template
from reports import charts, summary
from reports.briefing import Briefing
from reports.geo import load_map
from reports.period import CURRENT_LABELS, KIND_LABELS, PREVIOUS_LABELS, SHENZHEN
from reports.similar import GOVERNANCE_LABELS
from xianban.labels import SATISFACTION_LABELS, STATUS_LABELS

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Charts:
    funnel: str
    categories: str
    districts: str
    map: str


def draw_charts(b: Briefing, configs_dir: Path) -> Charts:
    now, before = CURRENT_LABELS[b.period.kind], PREVIOUS_LABELS[b.period.kind]
    categories = [(r.name, r.current, r.previous) for r in b.categories[:12]]
    districts = [(r.name, r.current, r.previous) for r in b.districts]
    return Charts(
        funnel=charts.funnel_chart([(s.label, s.count) for s in b.funnel]),
        categories=charts.compare_chart(categories, now, before, name="categories"),
        districts=charts.compare_chart(districts, now, before, name="districts"),
        map=district_map(b, configs_dir),
    )


def district_map(b: Briefing, configs_dir: Path) -> str:
    shenzhen = load_map(configs_dir)
    return charts.district_map(
        shenzhen,
        cases={r.name: r.current for r in b.districts},
        overdue={r.name: r.overdue for r in b.districts},
        points=[(d, s, n) for (d, s), n in sorted(b.street_cases.items())],
        marks=[(str(i), h.lon, h.lat) for i, h in enumerate(b.hotspots, 1)],
    )


def _environment(*, html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=html,
        finalize=mask_for_template,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=summary.pct,
        change=summary.change,
        minutes=summary.minutes,
        hours=summary.hours,
        count=summary.count,
        per_thousand=lambda v: "—" if v is None else f"{v:.1f}",
        local_time=lambda v: v.astimezone(SHENZHEN).strftime("%Y-%m-%d %H:%M") if v else "—",
        status=lambda code: STATUS_LABELS.get(code, code),
        satisfaction=lambda code: SATISFACTION_LABELS.get(code, code) if code else "—",
        governance=lambda code: GOVERNANCE_LABELS.get(code, code),
        ident=Identifier,
        svg=Markup,  # our own charts: drawn here, no outside text inside
    )
    env.globals.update(
        KIND_LABELS=KIND_LABELS, CURRENT_LABELS=CURRENT_LABELS, PREVIOUS_LABELS=PREVIOUS_LABELS
    )
    return env


_ENV = _environment(html=True)
_MD_ENV = _environment(html=False)  # Markdown is not HTML-escaped; numbers are still masked


def _context(b: Briefing, c: Charts | None, *, links: bool = False) -> dict[str, Any]:
    return {
        "b": b,
        "charts": c,
        "links": links,
        "now_label": CURRENT_LABELS[b.period.kind],
        "before_label": PREVIOUS_LABELS[b.period.kind],
    }


def render_body(b: Briefing, c: Charts | None, *, links: bool = False) -> Markup:
    """The briefing's sections, for a page that has its own head (the console, which
    asks for ``links``: each 类案 opens its page there; a file has nowhere to link to)."""
    return Markup(_ENV.get_template("_body.html").render(_context(b, c, links=links)))


def render_html(b: Briefing, c: Charts) -> str:
    """A whole document: one file to open, print or send, styles and charts inside."""
    css = (TEMPLATES / "briefing.css").read_text(encoding="utf-8")
    return _ENV.get_template("briefing.html").render(
        {**_context(b, c), "css": Markup(css), "body": render_body(b, c)}
    )


def render_markdown(b: Briefing) -> str:
    return _MD_ENV.get_template("briefing.md").render(_context(b, None)).strip() + "\n"


def render_pdf(html: str) -> bytes:
    """WeasyPrint's PDF of ``html`` (blocking: call it in a thread from async code)."""
    from weasyprint import HTML

    pdf = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
