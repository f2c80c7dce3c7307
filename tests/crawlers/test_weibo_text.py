"""Weibo's HTML post text to plain text, on every post the simulator renders and odd cases."""

from __future__ import annotations

import pytest

from crawlers.platforms.weibo import plain_text
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
