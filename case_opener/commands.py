"""``xianban route [FILE]``: which unit would receive the case, and why, per JSONL line.

A line is a lead (it has ``category``; ``geo`` and ``text``/``title`` as a Lead has them)
or a post (anything else with ``text``: the leadfinder finds its category and place
first). The answer per line, in input order, is ``{"id", "unit", "unit_level",
"district", "street", "community", "category", "item", "why", "from"}``; a line that
cannot be read is ``{"id", "error"}`` in its place, and the run goes on (input as every
command reads it: ``xianban.jsonl``, docs/cli.md). So the duties list can be checked
against any text, the city's published assignments of posts included.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, TextIO

from case_opener.duties import DutiesList
from xianban.jsonl import binary, dumps, read_jsonl, where
from xianban.records import CATEGORIES, Geo

GEO_FIELDS = ("district", "street", "community", "road", "poi")


class _Posts:
    """The leadfinder, loaded only when a line is a post."""

    def __init__(self, configs_dir: Path) -> None:
        self.configs_dir = configs_dir
        self._extractor: Any = None

    def extract(self, data: dict[str, Any], at: str = "") -> tuple[str | None, Any]:
        from leadfinder.commands import post_from
        from leadfinder.extract import Extractor

        ident, post = post_from(data, at)
        if isinstance(post, str):
            return ident, post
        if self._extractor is None:
            self._extractor = Extractor.load(self.configs_dir)
        return ident, self._extractor.extract(post)


def _ident(data: dict[str, Any]) -> str | None:
    for key in ("id", "lead_id", "cluster_id"):
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def route_line(line: str, duties: DutiesList, posts: _Posts) -> dict[str, Any]:
    [parsed] = read_jsonl([line.encode("utf-8", "surrogatepass") + b"\n"], "输入")
    if parsed.data is None:
        return {"id": None, "error": parsed.error}
    return route_data(parsed.data, duties, posts)


def route_data(
    data: dict[str, Any], duties: DutiesList, posts: _Posts, at: str = ""
) -> dict[str, Any]:
    ident = _ident(data)
    if "category" in data:
        category = data["category"]
        if category not in CATEGORIES:
            return {"id": ident, "error": f"未知的分类: {category!r}"}
        raw_geo = data.get("geo") or {}
        if not isinstance(raw_geo, dict):
            return {"id": ident, "error": "geo 应是对象"}
        geo = Geo(**{k: v for k, v in raw_geo.items() if k in GEO_FIELDS and isinstance(v, str)})
        text = f"{data.get('title') or ''}\n{data.get('text') or ''}"
        source = "lead"
    else:
        ident, found = posts.extract(data, at)
        if isinstance(found, str):
            return {"id": ident, "error": found}
        if found.category is None:
            return {
                "id": ident,
                "unit": None,
                "unit_level": None,
                "district": found.geo.district,
                "street": found.geo.street,
                "community": found.geo.community,
                "category": None,
                "item": None,
                "why": ["未识别出问题分类，无法按权责清单派单"],
                "from": "extract",
            }
        category, geo, text, source = found.category, found.geo, str(data.get("text")), "extract"
    route = duties.route(category, geo, text)
    return {"id": ident, **_without_id(route.as_dict()), "from": source}


def _without_id(answer: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in answer.items() if k != "id"}


def route_command(
    src: IO[bytes] | TextIO,
    dst: TextIO,
    configs_dir: Path,
    *,
    name: str = "stdin",
    errors: list[str] | None = None,
) -> tuple[int, int]:
    """Route every line, one answer per line; (lines routed, lines with an error)."""
    duties = DutiesList.load(configs_dir)
    posts = _Posts(configs_dir)
    ok = bad = 0
    for line in read_jsonl(binary(src), name):
        if line.data is None:
            answer: dict[str, Any] = {"id": None, "error": line.error}
        else:
            answer = route_data(line.data, duties, posts, where(name, line.number))
        if "error" in answer:
            bad += 1
            if errors is not None:
                errors.append(str(answer["error"]))
        else:
            ok += 1
        dst.write(dumps(answer) + "\n")
        dst.flush()
    return ok, bad
