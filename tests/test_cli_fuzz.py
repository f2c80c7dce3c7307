"""A fuzz test of the CLI: 1,000 generated inputs (random bytes, mixed encodings, truncated
and nested JSON, huge lines, blank lines, stray BOMs and CRs) through ``extract`` and
``eval``: never a traceback, always the documented exit code (docs/cli.md) and one
answer per input line.

The command functions run in-process (the leadfinder loaded once, not per call); two
subprocess runs check the same through ``python -m xianban``. Seeded, so a failure
repeats; bounded so the whole file runs in well under a minute.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from leadfinder.extract import Extractor
from xianban import cli
from xianban.records import CATEGORIES
from xianban.settings import ROOT

INPUTS = 1000
SEED = 20261201
EVAL_WITH_POSTS = 4
"""Inputs with good labelled lines that also run the whole eval (each opens a store);
the others' labelled reading is checked for every input."""

TEXTS = (
    "龙华区民治街道白石龙社区门口那根路灯一直在冒火花⚡⚡晚上小孩放学都从那过",
    "华强北振华路这边井盖不见了，一个大黑洞，刚才差点有个外卖小哥摔进去 @深圳城管",
    "今天天气真好，去深圳湾公园跑步了🏃",
    "凌晨两点工地还在打桩，整栋楼都在震，投诉了三次没人管😡",
    "健身房突然关门了，预付卡里还有五千块，老板电话打不通",
    "",
    "   ",
    "a\u2028b\x1cc\rd\x85e\x00f",
    "𠀀𪚥👨‍👩‍👧‍👦🇨🇳",
)


def post(rng: random.Random) -> dict[str, Any]:
    text = rng.choice(TEXTS)
    shape = rng.randrange(4)
    if shape == 0:  # what `xianban crawl` writes
        return {
            "schema_version": 1,
            "platform": rng.choice(["weibo", "douyin", "xhs", ""]),
            "native_id": str(rng.randrange(10**12)),
            "text": text,
            "created_at": rng.choice(["2026-11-13T05:44:10+08:00", "2026-11-13", None, 5]),
            "engagement": {"likes": rng.choice([0, 3, -1, "many"])},
            "place_hints": rng.choice([{}, {"ip_location": "广东"}, [], None]),
        }
    labelled: dict[str, Any] = {"id": rng.choice([f"p{rng.randrange(999)}", 7, True, None])}
    labelled["text"] = text
    if shape >= 2:
        labelled |= {
            "is_lead": rng.choice([True, False, "yes", None]),
            "urgent": rng.choice([True, False, 1]),
            "category": rng.choice([*CATEGORIES[:3], "aliens", None, 3]),
            "also": rng.choice([[], ["road_traffic"], "noise", None]),
            "district": rng.choice(["龙华区", None, 1]),
        }
    if shape == 3:
        labelled["geo"] = rng.choice([{"district": "福田区"}, "福田区", None])
    return labelled


def good_labelled(rng: random.Random) -> dict[str, Any]:
    return {
        "id": f"g{rng.randrange(10**6)}",
        "platform": "weibo",
        "text": rng.choice(TEXTS[:5]),
        "is_lead": rng.random() < 0.5,
        "urgent": rng.random() < 0.3,
        "category": rng.choice(CATEGORIES),
    }


def nested(rng: random.Random) -> bytes:
    depth = rng.choice([3, 50, 1000, 100_000])
    open_, close = rng.choice([("[", "]"), ('{"a":', "}")])
    inner = open_ * depth + "1" + close * depth
    if rng.random() < 0.5:
        return f'{{"id": "n", "text": "井盖", "engagement": {inner}}}'.encode()
    return inner.encode()[: rng.choice([None, depth // 2 or 1])]


def fragment(rng: random.Random, budget: dict[str, int]) -> bytes:
    """One line's bytes (random bytes may hold newlines of their own: that is fine)."""
    kind = rng.choices(
        ["valid", "bytes", "encoded", "truncated", "nested", "weird", "blank", "huge"],
        weights=[30, 12, 14, 14, 8, 14, 6, 2],
    )[0]
    as_json = json.dumps(post(rng), ensure_ascii=rng.random() < 0.2).encode()
    if kind == "valid":
        return as_json
    if kind == "bytes":
        return rng.randbytes(rng.randrange(1, 300))
    if kind == "encoded":
        codec = rng.choice(["gbk", "gb18030", "big5", "utf-16", "utf-16-le", "utf-32", "latin-1"])
        return json.dumps(post(rng), ensure_ascii=False).encode(codec, errors="replace")
    if kind == "truncated":
        return as_json[: rng.randrange(len(as_json))]
    if kind == "nested":
        return nested(rng)
    if kind == "weird":
        return rng.choice(
            [
                b"NaN",
                b'{"id": NaN, "text": "x"}',
                b'{"id": 1e999, "text": "x"}',
                b'{"id": ' + b"9" * 5000 + b', "text": "x"}',
                b'{"id": "s", "text": "\\ud800\\udfff\\ud800"}',
                b'{"id": "s", "text": ["a"]}',
                b'{"id": {}, "text": "x"}',
                b"\xef\xbb\xbf" + as_json,  # a BOM that is not at the start of the input
                as_json.replace(b"{", b"{\x00", 1),
                as_json + b"\r",
                as_json + b" trailing",
                b'"just a string"',
                b"[]",
                b"{}",
                b"null",
                b"\x1a\x04",
            ]
        )
    if kind == "blank":
        return rng.choice([b"", b"   ", b"\t", b"\r"])
    if budget["huge"] > 0:  # a few, or the test would be slow
        budget["huge"] -= 1
        # 30,000 characters (a post), 150,000 (longer than a post may be), 5 MB (longer
        # than a line may be). The text is a real sentence repeated: one character
        # repeated is quadratic in the geo resolver (see the report of issue 14).
        chars = rng.choice([30_000, 150_000, 1_700_000])
        text = (TEXTS[0] * (chars // len(TEXTS[0]) + 1))[:chars]
        return json.dumps({"id": "h", "text": text}, ensure_ascii=False).encode()
    return as_json


def inputs() -> list[bytes]:
    rng = random.Random(SEED)
    budget = {"huge": 6}
    made = []
    for i in range(INPUTS):
        parts = [fragment(rng, budget) for _ in range(rng.randrange(1, 8))]
        if i % 7 == 0:
            parts.append(json.dumps(good_labelled(rng), ensure_ascii=False).encode())
        rng.shuffle(parts)
        sep = b"\r\n" if rng.random() < 0.1 else b"\n"
        data = sep.join(parts) + (sep if rng.random() < 0.85 else b"")
        if rng.random() < 0.1:
            data = b"\xef\xbb\xbf" + data
        made.append(data)
    return made


INPUT_DATA = inputs()


def line_count(data: bytes) -> int:
    """What the contract promises one answer each for: ``wc -l`` plus an unended last line."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load(ROOT / "configs")


@pytest.fixture
def loaded_once(monkeypatch: pytest.MonkeyPatch, extractor: Extractor) -> None:
    """Every ``Extractor.load`` gets the one already loaded: in-process calls then cost
    what the command does per line, not the seconds a process spends loading."""
    monkeypatch.setattr(Extractor, "load", classmethod(lambda cls, configs_dir: extractor))


def call(command: Any, data: bytes | None, **kwargs: Any) -> tuple[int, str, str]:
    """Run a CLI command function in-process: (exit code, stdout, stderr). Anything it
    raises but ``typer.Exit`` is a traceback a user would have seen."""
    saved = sys.stdin, sys.stdout, sys.stderr
    out, err = io.StringIO(), io.StringIO()
    sys.stdin, sys.stdout, sys.stderr = _Stdin(data or b""), out, err
    try:
        command(**kwargs)
        code = 0
    except typer.Exit as exc:
        code = exc.exit_code
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def check_extract_output(data: bytes, code: int, stdout: str, stderr: str) -> None:
    answers = [json.loads(x) for x in stdout.split("\n")[:-1]]
    assert len(answers) == line_count(data)
    bad = [a for a in answers if "error" in a]
    for answer in bad:
        assert set(answer) == {"id", "error"} and "\n" not in answer["error"]
    for answer in answers:
        if "error" not in answer:
            assert {"id", "is_lead", "score", "category", "urgent", "geo"} <= set(answer)
    assert code == (1 if bad else 0)
    assert "Traceback" not in stderr


def test_extract_answers_every_line_of_every_input(loaded_once: None) -> None:
    for n, data in enumerate(INPUT_DATA):
        code, stdout, stderr = call(cli.extract, data, file=None)
        try:
            check_extract_output(data, code, stdout, stderr)
        except AssertionError as exc:
            raise AssertionError(f"input {n}: {data[:300]!r}") from exc


def test_eval_accounts_for_every_line_of_every_input(loaded_once: None, tmp_path: Path) -> None:
    from xianban.quality import read_labelled

    full_with_posts = 0
    for n, data in enumerate(INPUT_DATA):
        path = tmp_path / f"in{n}.jsonl"
        path.write_bytes(data)
        good, bad = read_labelled(path)
        lines = line_count(data)
        assert len(good) + len(bad) == lines, f"input {n}"
        assert [b["line"] for b in bad] == sorted({b["line"] for b in bad})
        if good and full_with_posts >= EVAL_WITH_POSTS:
            continue
        full_with_posts += bool(good)
        code, stdout, stderr = call(cli.eval_, None, file=path, sim=False, seed=7, size=10**6)
        assert "Traceback" not in stderr
        if lines == 0:
            assert code == 2 and stderr.startswith("错误：") and not stdout
            continue
        report = json.loads(stdout)
        assert report["lines"] == lines == report["posts"] + len(report["bad_lines"])
        assert code == (1 if report["bad_lines"] else 0), f"input {n}"
    assert full_with_posts == EVAL_WITH_POSTS


def xianban(*args: str, stdin: bytes | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "xianban", *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "XIANBAN_PROGRESS": "0"},
    )


def ended(data: bytes) -> bytes:
    return data if not data or data.endswith(b"\n") else data + b"\n"


def test_the_real_commands_agree(tmp_path: Path) -> None:
    """Two processes at once: extract on stdin, eval on a file, each over 150 inputs."""
    piped = b"".join(ended(d) for d in INPUT_DATA[:150])
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_bytes(b"".join(ended(d) for d in INPUT_DATA[150:300]))
    extract = xianban("extract", stdin=piped)
    evaluate = xianban("eval", str(labelled))
    out, err = extract.communicate(piped, timeout=240)
    check_extract_output(piped, extract.returncode, out.decode(), err.decode())
    out, err = evaluate.communicate(timeout=240)
    assert b"Traceback" not in err
    report = json.loads(out)
    lines = line_count(labelled.read_bytes())
    assert report["lines"] == lines == report["posts"] + len(report["bad_lines"])
    assert evaluate.returncode == 1 and report["posts"] > 0


def test_the_inputs_are_what_the_docstring_says() -> None:
    joined = b"".join(INPUT_DATA)
    assert len(INPUT_DATA) == INPUTS
    assert joined.count(b"\xef\xbb\xbf") >= 50
    assert sum(len(d) > 4_000_000 for d in INPUT_DATA) >= 1
    assert sum(b"[[[[[[[[" in d for d in INPUT_DATA) >= 20
