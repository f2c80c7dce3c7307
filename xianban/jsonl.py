"""JSONL input as a contract: what every command that reads posts from a file or stdin does.

* Bytes are read and split on ``\\n`` only (a ``\\r\\n`` ending loses its ``\\r``), so the
  lines counted here are the lines ``wc -l`` counts, and a stray ``\\r``, ``\\x1c`` or
  U+2028 inside a line never splits it.
* UTF-8, with or without a byte-order mark on the first line. Anything else (GBK, UTF-16,
  binary) is that line's error, naming file, line and column, and the run goes on.
* Every line yields exactly one ``Line``: a JSON object, or the one-line Chinese reason it
  is not one (bad encoding, bad JSON, not an object, nested too deep, longer than
  ``MAX_LINE_BYTES``, blank). Callers write one output line per ``Line``, so output lines
  up with input whatever the input holds.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from xianban.errors import InputError

BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 4 * 1024 * 1024
"""Longest line read, bytes (a post's text is at most 100,000 characters, ~600 KB as
escaped JSON); a longer line is an error line and the reader skips to the next newline."""
_CHUNK = 1024 * 1024

_JSON_MESSAGES = (
    ("Expecting value", "此处应是一个值"),
    ("Expecting ',' delimiter", "缺少逗号"),
    ("Expecting ':' delimiter", "缺少冒号"),
    ("Expecting property name enclosed in double quotes", "属性名应放在双引号里"),
    ("Unterminated string starting at", "字符串没有结束"),
    ("Extra data", "一行只能有一个 JSON 值，后面还有内容"),
    ("Invalid control character at", "字符串里有未转义的控制字符"),
    ("Invalid \\uXXXX escape", "无效的 \\u 转义"),
    ("Invalid \\escape", "无效的转义"),
)


@dataclass(frozen=True, slots=True)
class Line:
    """One input line: ``data`` (a JSON object) or ``error`` (why not), never both."""

    number: int
    data: dict[str, Any] | None = None
    error: str | None = None


def where(name: str, number: int, column: int | None = None) -> str:
    """``posts.jsonl 第 3 行第 7 列`` — how every message names a place in the input."""
    return f"{name} 第 {number} 行" + (f"第 {column} 列" if column is not None else "")


def open_input(path: Path | None) -> tuple[IO[bytes], str]:
    """The binary stream to read (stdin when ``path`` is None) and its name in messages."""
    import sys

    if path is None:
        return sys.stdin.buffer, "stdin"
    if path.is_dir():
        raise InputError(f"{path} 是一个目录，不是文件：请给出一个 JSONL 文件")
    try:
        return path.open("rb"), str(path)
    except FileNotFoundError:
        raise InputError(f"{path}：文件不存在") from None
    except OSError as exc:
        raise InputError(f"{path}：无法读取（{exc.strerror or exc}）") from None


def binary(src: IO[bytes] | IO[str] | Iterable[bytes]) -> IO[bytes] | Iterable[bytes]:
    """A byte source for ``read_jsonl``: a binary stream as is, a text stream's buffer (or,
    for an in-memory one, its text encoded back)."""
    buffer = getattr(src, "buffer", None)
    if buffer is not None:
        return buffer  # type: ignore[no-any-return]
    if isinstance(src, io.TextIOBase):
        return [src.read().encode("utf-8", "surrogatepass")]
    return src  # type: ignore[return-value]


def raw_lines(
    src: IO[bytes] | Iterable[bytes], limit: int = MAX_LINE_BYTES
) -> Iterator[bytes | None]:
    """Each line's bytes without its ``\\n`` (and ``\\r``); ``None`` for a line longer than
    ``limit``, whose rest is skipped."""
    readline = getattr(src, "readline", None)
    if readline is None:  # an iterable of byte chunks (tests): join, then split
        data = b"".join(src)
        parts = data.split(b"\n")
        if parts and parts[-1] == b"":
            parts.pop()
        for part in parts:
            yield None if len(part) > limit else part.removesuffix(b"\r")
        return
    while True:
        line: bytes = readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = readline(_CHUNK)
            yield None
            continue
        yield line.removesuffix(b"\n").removesuffix(b"\r")


def read_jsonl(src: IO[bytes] | Iterable[bytes], name: str) -> Iterator[Line]:
    """One ``Line`` per input line, in order (see the module docstring)."""
    for number, raw in enumerate(raw_lines(src), start=1):
        yield parse_line(raw, name, number, first=number == 1)


def parse_line(raw: bytes | None, name: str, number: int, *, first: bool = False) -> Line:
    if raw is None:
        limit = MAX_LINE_BYTES // (1024 * 1024)
        return Line(number, error=f"{where(name, number)}：这一行超过 {limit} MiB，未读取")
    if first and raw.startswith(BOM):
        raw = raw[len(BOM) :]
    text = decode(raw, name, number)
    if isinstance(text, Line):
        return text
    if not text.strip():
        return Line(number, error=f"{where(name, number)}：空行（每行应是一个 JSON 对象）")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Line(
            number, error=f"{where(name, number, exc.colno)}：不是合法的 JSON（{_json_msg(exc)}）"
        )
    except RecursionError:
        return Line(number, error=f"{where(name, number)}：JSON 嵌套过深")
    except ValueError as exc:  # e.g. an integer longer than Python converts
        return Line(number, error=f"{where(name, number)}：JSON 中的值无法读取（{exc}）")
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "null"
        return Line(number, error=f"{where(name, number)}：每行应是一个 JSON 对象，这里是 {kind}")
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return Line(
            number, error=f"{where(name, number)}：含有无效的 Unicode 代理字符（如 \\ud800）"
        )
    except (RecursionError, ValueError):
        return Line(number, error=f"{where(name, number)}：JSON 嵌套过深")
    return Line(number, data=data)


def decode(raw: bytes, name: str, number: int) -> str | Line:
    """The line as text, or an error ``Line`` naming where UTF-8 broke and what it looks like."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
        byte = raw[exc.start : exc.start + 1].hex()
        return Line(
            number,
            error=f"{where(name, number, column)}：不是 UTF-8 编码（字节 0x{byte}）{_guess(raw)}",
        )


def _guess(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[1:2] == b"\x00":
        return "，像是 UTF-16：请先转换为 UTF-8"
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return "，像是二进制数据"
    if re.search(r"[\u4e00-\u9fff]", text):
        return "，像是 GBK/GB18030：请先转换，例如 iconv -f GB18030 -t UTF-8"
    return "，请先转换为 UTF-8"


def _json_msg(exc: json.JSONDecodeError) -> str:
    for english, chinese in _JSON_MESSAGES:
        if exc.msg.startswith(english):
            return chinese
    return exc.msg


def dumps(data: Any) -> str:
    """One output line's JSON: Chinese as is; escaped when a value cannot be UTF-8."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, ensure_ascii=True, default=str)
    return text
