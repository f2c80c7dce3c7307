"""The leadfinder's CLI commands: extract JSONL, score against a labelled set, benchmark."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import jieba
from pydantic import ValidationError

from leadfinder.extract import Extraction, Extractor
from xianban.records import Post

GEO_FIELDS = ("district", "street", "community", "road", "poi")


def parse_post(line: str) -> tuple[str | None, Post | str]:
    """(id, post) or (id, the reason the line is unusable); ids are kept even on bad lines."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"不是合法的 JSON: {exc.msg} (第 {exc.colno} 列)"
    if not isinstance(data, dict):
        return None, "每行应是一个 JSON 对象"
    raw_id = data.get("id")
    ident = str(raw_id) if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
    if ident is None:
        return None, "缺少 id(字符串或整数)"
    if not isinstance(data.get("text"), str) or not data["text"].strip():
        return ident, "缺少 text 或 text 不是非空字符串"
    fields = {k: v for k, v in data.items() if k in Post.model_fields}
    fields.setdefault("platform", "input")
    fields.setdefault("native_id", ident)
    try:
        return ident, Post.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return ident, f"字段 {where} 不合法: {first['msg']}"


def result_json(ident: str, found: Extraction) -> dict[str, Any]:
    return {
        "id": ident,
        "is_lead": found.is_lead,
        "score": found.score,
        "category": found.category,
        "urgent": found.urgent,
        "geo": found.geo.model_dump(include=set(GEO_FIELDS)),
        "reasons": found.reasons,
    }


def extract_command(src: TextIO, dst: TextIO, configs_dir: Path) -> tuple[int, int]:
    extractor = Extractor.load(configs_dir)
    ok = bad = 0
    for line in src:
        if not line.strip():
            continue
        ident, post = parse_post(line)
        if isinstance(post, str):
            bad += 1
            out: dict[str, Any] = {"id": ident, "error": post}
        else:
            ok += 1
            out = result_json(ident or post.native_id, extractor.extract(post))
        dst.write(json.dumps(out, ensure_ascii=False) + "\n")
    return ok, bad


def eval_command(path: Path, configs_dir: Path, *, misses: bool = True) -> dict[str, Any]:
    """Score the leadfinder on a labelled JSONL file (``xianban.quality.eval_file``): lead
    P/R/F1, urgent P/R, category, district/street/road, per ``kind``, and what the verifier's
    rules would file from it."""
    from xianban.quality import eval_file
    from xianban.settings import Settings

    return eval_file(path, Settings(configs_dir=configs_dir), misses=misses)


FILLER = (
    "今天下班路过的时候又看到了,",
    "真的服了,",
    "早上送娃上学,",
    "家人们谁懂啊😭",
    "住这边三年了第一次遇到,",
    "周末带老人出门,",
    "xswl 刚刚发生的事,",
    "#深圳生活# ",
    "说实话这个城市挺好的但是",
    "楼下阿姨都在讨论,",
)


TAILS = (
    "路过打卡,天气不错,心情也不错,晚上约了朋友去吃潮汕牛肉火锅,听说排队要一个小时。",
    "说完了,各位晚安,明天还要早起挤地铁上班,打工人真的太难了,周末一定要好好睡一觉。",
    "以上都是真实经历,不喜勿喷,欢迎评论区交流,也欢迎大家分享自己小区的情况,一起讨论。",
)


def bench_posts(extractor: Extractor, count: int) -> list[Post]:
    """Deterministic posts of social-media length (~110 characters, as measured on real ones)
    mixing problems, places and plain chatter; one in four names a problem."""
    rng = random.Random(20261123)
    phrases = [word for word, _ in extractor.automaton.items()]
    posts: list[Post] = []
    for i in range(count):
        parts = [rng.choice(FILLER) for _ in range(5)]
        if i % 4 == 0:  # most posts are not about problems at all
            parts += rng.sample(phrases, 3)
        text = "".join(parts) + "大家怎么看?" * (i % 3) + rng.choice(TAILS)
        posts.append(Post(platform="bench", native_id=str(i), text=text))
    return posts


BENCH_CHUNK = 1000


def _timed(run: Callable[[list[Post]], object], chunk: list[Post]) -> float:
    start = time.perf_counter()
    run(chunk)
    return time.perf_counter() - start


def bench_command(posts: int, configs_dir: Path) -> dict[str, Any]:
    extractor = Extractor.load(configs_dir)
    sample = bench_posts(extractor, max(posts, 20_000))
    keywords = [word for word, _ in extractor.automaton.items()]
    jieba.initialize()
    extractor.extract(sample[0])  # warm the lazily built structures out of the timing

    def baseline(post: Post) -> tuple[list[str], list[str]]:
        tokens: list[str] = jieba.lcut(post.text)
        return tokens, [k for k in keywords if k in post.text]

    # Alternate chunks so a neighbour's load on the shared machine hits both sides alike.
    ours = base = 0.0
    for i in range(0, len(sample), BENCH_CHUNK):
        chunk = sample[i : i + BENCH_CHUNK]
        # Ours as the stage runs it, a batch at a time (the model scores a batch in one
        # product); jieba has no batch mode, so the baseline goes post by post.
        ours += _timed(extractor.extract_many, chunk)
        base += _timed(lambda posts: [baseline(p) for p in posts], chunk)
    n = len(sample)
    return {
        "posts": n,
        "cores": 1,
        "machine_cores": os.cpu_count(),
        "avg_chars": round(sum(len(p.text) for p in sample) / n, 1),
        "ours_posts_per_s": round(n / ours),
        "baseline_posts_per_s": round(n / base),
        "ratio": round(base / ours, 2),
        "us_per_post_ours": round(ours / n * 1e6, 1),
        "us_per_post_baseline": round(base / n * 1e6, 1),
    }
