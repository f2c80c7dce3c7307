"""Input handling as a contract (xianban.jsonl) for every command that reads posts:
UTF-8 with or without BOM, one Chinese error naming file, line and column, one output
line per input line, and the documented exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leadfinder.commands import extract_command, post_from
from leadfinder.extract import Extractor
from xianban.cli import app
from xianban.jsonl import MAX_LINE_BYTES, read_jsonl
from xianban.quality import read_labelled
from xianban.settings import ROOT

CONFIGS = ROOT / "configs"
runner = CliRunner()
POST = {"id": "p1", "platform": "weibo", "text": "龙华区民治街道路灯冒火花，有没有人管"}
CRAWLED = {
    "schema_version": 1,
    "platform": "weibo",
    "native_id": "5230000015500326",
    "source": "weibo-search",
    "url": "https://m.weibo.cn/status/5230000015500326",
    "author": {"id": "5232751969", "name": "龙华大王661", "followers": 5, "verified": False},
    "title": None,
    "text": "梅林一村旁边那条路的路灯杆底部被腐蚀穿了，风一吹就晃",
    "media": [],
    "created_at": "2026-11-13T05:44:10+08:00",
    "fetched_at": "2026-12-01T17:28:57.109343+08:00",
    "engagement": {"likes": 3, "comments": 0, "shares": 1, "views": 0},
    "place_hints": {"ip_location": "广东", "poi": None, "city": None},
    "repost_of": None,
}


def lines(data: bytes, name: str = "in.jsonl") -> list[Any]:
    return list(read_jsonl(io.BytesIO(data), name))


def line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load(CONFIGS)


def extract(data: bytes, extractor: Extractor) -> tuple[list[dict[str, Any]], tuple[int, int]]:
    out = io.StringIO()
    counts = extract_command(io.BytesIO(data), out, CONFIGS, name="in.jsonl", extractor=extractor)
    return [json.loads(x) for x in out.getvalue().split("\n")[:-1]], counts


def test_bom_and_crlf_are_read_as_utf8() -> None:
    got = lines(b"\xef\xbb\xbf" + line(POST).replace(b"\n", b"\r\n") + line(POST))
    assert [g.data["id"] for g in got] == ["p1", "p1"]


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (b'{"text": "' + "灯坏了".encode("gbk"), ["in.jsonl 第 1 行第 11 列", "不是 UTF-8", "GBK"]),
        ('{"text": "路灯"}'.encode("utf-16"), ["in.jsonl 第 1 行", "UTF-16"]),
        (b"\x00\xff\xfe\x80\x81", ["in.jsonl 第 1 行", "不是 UTF-8"]),
        (b'{"id": "a", "text": "x",}', ["in.jsonl 第 1 行第 25 列", "不是合法的 JSON"]),
        (b'{"id": "a"} {"id": "b"}', ["第 1 行第 13 列", "后面还有内容"]),
        (b"   ", ["in.jsonl 第 1 行", "空行"]),
        (b"[1, 2]", ["每行应是一个 JSON 对象", "list"]),
        (b"null", ["每行应是一个 JSON 对象", "null"]),
        (b"[" * 100_000 + b"]" * 100_000, ["嵌套过深"]),
        (b'{"id": "a", "text": "\\ud800"}', ["Unicode 代理字符"]),
        (b'{"id": ' + b"9" * 5000 + b"}", ["无法读取"]),
    ],
)
def test_a_bad_line_is_one_chinese_line_naming_file_line_and_column(
    raw: bytes, want: list[str]
) -> None:
    [got] = lines(raw)
    assert got.data is None and got.error is not None
    assert "\n" not in got.error
    for part in want:
        assert part in got.error


def test_utf8_error_column_counts_characters_not_bytes() -> None:
    [got] = lines("路灯".encode() + "坏".encode("gbk"))
    assert "第 1 行第 3 列" in str(got.error)


def test_one_line_per_input_line_whatever_splits_text() -> None:
    tricky = json.dumps({"id": "x", "text": "a\u2028b\x1cc\rd\x85e"}, ensure_ascii=False).encode()
    data = line(POST) + b"\n" + tricky + b"\n" + b"\xff\n" + line(POST)[:-1]  # no final \n
    got = lines(data)
    assert [g.number for g in got] == [1, 2, 3, 4, 5]
    assert got[1].error and "空行" in got[1].error
    assert got[2].data == {"id": "x", "text": "a\u2028b\x1cc\rd\x85e"}
    assert got[3].error and "第 4 行" in got[3].error


def test_a_huge_line_is_an_error_and_the_next_line_is_read() -> None:
    data = b'{"text": "' + b"a" * (MAX_LINE_BYTES + 10) + b'"}\n' + line(POST)
    first, second = lines(data)
    assert first.error and "超过" in first.error
    assert second.data is not None and second.data["id"] == "p1"


def test_crawl_shape_derives_the_id_from_platform_and_native_id() -> None:
    ident, post = post_from(CRAWLED)
    assert ident == "weibo:5230000015500326"
    assert not isinstance(post, str) and post.post_id == ident
    ident, post = post_from({"native_id": 42, "text": "井盖不见了"})
    assert ident == "42" and not isinstance(post, str)
    ident, post = post_from({"platform": "weibo", "text": "井盖不见了"})
    assert ident is None and isinstance(post, str) and "platform + native_id" in post
    _, titled = post_from({"id": "n1", "title": "梅林路井盖缺失", "text": ""})
    assert not isinstance(titled, str)  # a news item with a title and no body is a post


def test_extract_answers_every_line_in_order(extractor: Extractor) -> None:
    data = (
        line(CRAWLED)
        + b"\xef\xbb\xbfnot json\n"
        + b"\n"
        + "灯坏了".encode("gbk")
        + b"\n"
        + line({"id": 7, "text": "宝安西乡这边井盖不见了"})
    )
    out, counts = extract(data, extractor)
    assert counts == (2, 3)
    assert [r["id"] for r in out] == ["weibo:5230000015500326", None, None, None, "7"]
    assert out[0]["is_lead"] is True
    for bad, where in zip(out[1:4], ("第 2 行第 1 列", "第 3 行", "第 4 行第 1 列"), strict=True):
        assert set(bad) == {"id", "error"} and where in bad["error"]


def test_eval_reader_accounts_for_every_line(tmp_path: Path) -> None:
    labelled = {**POST, "is_lead": True, "urgent": True, "category": "municipal_facilities"}
    path = tmp_path / "set.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + line(labelled)
        + b"\n"
        + line({**labelled, "is_lead": "yes"})
        + line({**labelled, "also": "road_traffic"})
        + b"{broken\n"
    )
    good, bad = read_labelled(path)
    assert len(good) == 1
    assert [b["line"] for b in bad] == [2, 3, 4, 5]
    assert "is_lead" in bad[1]["error"] and "also" in bad[2]["error"]
    assert all(str(path) in b["error"] for b in bad)


def test_extract_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"\xef\xbb\xbf" + line(POST))
    ok = runner.invoke(app, ["extract", str(good)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["id"] == "p1"

    mixed = runner.invoke(app, ["extract"], input=line(POST) + b"\n" + b"{oops\n")
    assert mixed.exit_code == 1
    assert len(mixed.stdout.splitlines()) == 3
    assert "stdin 第 3 行第 2 列" in mixed.stderr and "Traceback" not in mixed.output

    for missing in (tmp_path / "nope.jsonl", tmp_path):
        refused = runner.invoke(app, ["extract", str(missing)])
        assert refused.exit_code == 2 and refused.stderr.startswith("错误：")
        assert len(refused.stderr.splitlines()) == 1


def test_eval_exit_codes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    refused = runner.invoke(app, ["eval", str(empty)])
    assert refused.exit_code == 2 and "是空的" in refused.stderr
    folder = runner.invoke(app, ["eval", str(tmp_path)])
    assert folder.exit_code == 2 and "是一个目录" in folder.stderr

    mixed = tmp_path / "mixed.jsonl"
    labelled = {**POST, "is_lead": True, "urgent": True, "category": "municipal_facilities"}
    mixed.write_bytes(line(labelled) + "灯坏了".encode("gbk") + b"\n")
    report = runner.invoke(app, ["eval", str(mixed)])
    assert report.exit_code == 1, report.output
    metrics = json.loads(report.stdout)
    assert metrics["lines"] == 2 and metrics["posts"] == 1
    assert metrics["bad_lines"][0]["line"] == 2
    assert "第 2 行第 1 列" in report.stderr
