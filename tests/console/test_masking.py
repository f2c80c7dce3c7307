from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from console.masking import Identifier, mask_bytes, mask_data, mask_for_template, mask_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("联系我13812341234谢谢", "联系我138****1234谢谢"),
        ("电话 139-8765-4321 或 150 1111 2222", "电话 139****4321 或 150****2222"),
        ("+8618612345678", "+86186****5678"),
        ("008618612345678", "0086186****5678"),
        ("身份证440301199001011234", "身份证4403**********1234"),
        ("证件号 44030119900101123X 号", "证件号 4403**********123X 号"),
        ("440301199001011234和13912345678", "4403**********1234和139****5678"),
    ],
)
def test_masks_phone_and_id_numbers(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "订单号 20231381234123456789",  # a longer number that contains a phone-like run
        "座机 0755-83001234",
        "11012341234",  # 11 digits but not a mobile prefix
        "12345",
        "",
    ],
)
def test_leaves_other_numbers_alone(text: str) -> None:
    assert mask_text(text) == text


def test_masks_every_string_in_nested_data() -> None:
    data = {"a": ["13812341234", {"b": "x440301199001011234"}], "n": 13812341234, "ok": True}
    assert mask_data(data) == {
        "a": ["138****1234", {"b": "x4403**********1234"}],
        "n": 13812341234,
        "ok": True,
    }


def test_masks_raw_bytes_and_keeps_undecodable_bytes() -> None:
    raw = b"\xff\xfe tel 13812341234 \x00"
    assert mask_bytes(raw) == b"\xff\xfe tel 138****1234 \x00"


def test_template_hook_masks_plain_strings_only() -> None:
    assert mask_for_template("13812341234") == "138****1234"
    # Markup is a macro's output, every expression in it finalized already.
    assert mask_for_template(Markup("<a href=/c/13812341234>")) == "<a href=/c/13812341234>"
    assert mask_for_template(42) == 42


def test_identifier_values_are_kept_whole() -> None:
    data = {
        "case_id": "XB-A13812341234B",
        "post_ids": ["weibo:13812341234"],
        "description": "call 13812341234",
        "nested": [{"cluster_id": "c13812341234", "note": "13812341234"}],
    }
    assert mask_data(data) == {
        "case_id": "XB-A13812341234B",
        "post_ids": ["weibo:13812341234"],
        "description": "call 138****1234",
        "nested": [{"cluster_id": "c13812341234", "note": "138****1234"}],
    }
    assert mask_for_template(Identifier("c13812341234")) == "c13812341234"


_filler = st.text(alphabet=st.sampled_from("深圳龙华区 ，。:abcXYZ-"), max_size=12)


@given(
    before=_filler,
    after=_filler,
    prefix=st.sampled_from("3456789"),
    rest=st.text(alphabet="0123456789", min_size=9, max_size=9),
)
def test_an_embedded_mobile_number_never_survives(
    before: str, after: str, prefix: str, rest: str
) -> None:
    phone = f"1{prefix}{rest}"
    masked = mask_text(f"{before}{phone}{after}")
    assert phone not in masked
    assert f"1{prefix}{rest[0]}****{rest[-4:]}" in masked
    assert mask_text(masked) == masked  # masking twice changes nothing
