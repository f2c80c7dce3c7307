"""Weibo's HTML post text to plain text, on every post the simulator renders and odd cases;
its creation stamps read by hand exactly as ``strptime`` reads them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawlers.platforms.weibo import CREATED, created, plain_text
from sim.platforms import create_platforms_app
from sim.platforms.weibo import render_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ('路灯坏了<span class="url-icon"><img alt=[怒] src="x.png" /></span>', "路灯坏了[怒]"),
        ("<img src=\"x\" alt='[笑]'>好", "[笑]好"),
        ('第一行<br />第二行 <a href="/n/城管">@城管</a>', "第一行\n第二行 @城管"),
        ("水管 &lt;爆裂&gt; &amp; 漏水", "水管 <爆裂> & 漏水"),
    ],
)
def test_tags_go_emoji_and_breaks_stay(html: str, text: str) -> None:
    assert plain_text(html) == text


def test_every_rendered_post_reads_back_as_its_words() -> None:
    corpus = create_platforms_app(seed=7).state.sim.corpus
    for item in (i for i in corpus.items if i.platform == "weibo"):
        shown = plain_text(render_text(item.text))
        assert "<" not in shown and "&amp;" not in shown, shown


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_created_reads_what_strptime_reads(moment: datetime, minutes: int) -> None:
    stamp = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=minutes)))
    value = stamp.strftime(CREATED)
    assert created(value) == datetime.strptime(value, CREATED)
    assert created(value).utcoffset() == stamp.utcoffset()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "Tue Dec 32 12:30:00 +0800 2026",
        "Xyz Dec 01 12:30:00 +0800 2026",
        "Tue Foo 01 12:30:00 +0800 2026",
        "Tue Dec 01 12:30:00 0800 2026",
        "Tue Dec 01 25:00:00 +0800 2026",
    ],
)
def test_created_refuses_what_strptime_refuses(value: str) -> None:
    with pytest.raises(ValueError):
        created(value)
