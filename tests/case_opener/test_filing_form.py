"""The filing's form body, encoded by hand, is the one aiohttp made of the form dict."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st

from case_opener.filing import form_body

texts = st.text(st.characters(codec="utf-8"), max_size=60)


@given(st.dictionaries(texts, texts, max_size=12))
def test_form_body_is_urlencode(form: dict[str, str]) -> None:
    assert form_body(form) == urlencode(form).encode()


def test_a_case_form_reads_back() -> None:
    form = {
        "description": "南山区 科技园~地铁站A口 积水50cm！\n线索来源：weibo https://weibo.com/1?a=b&c=d",
        "attribute[post_ids]": "weibo:1,weibo:2",
        "address_string": "",
    }
    body = form_body(form)
    assert b"%" in body and b"+" in body
    assert dict(parse_qsl(body.decode(), keep_blank_values=True)) == form
