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

MISSES_CAP = 50
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


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _f1(p: float | None, r: float | None) -> float | None:
    return round(2 * p * r / (p + r), 4) if p and r else (0.0 if p is not None else None)


def eval_command(path: Path, configs_dir: Path) -> dict[str, Any]:
    extractor = Extractor.load(configs_dir)
    tp = fp = fn = tn = utp = ufp = ufn = 0
    right: dict[str, int] = {"district": 0, "street": 0, "category": 0}
    labelled: dict[str, int] = {"district": 0, "street": 0, "category": 0}
    misses: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in filter(str.strip, lines):
        ident, post = parse_post(line)
        if isinstance(post, str):
            bad.append({"id": ident, "error": post})
            continue
        label = json.loads(line)
        got = extractor.extract(post)
        want_lead, want_urgent = bool(label.get("is_lead")), bool(label.get("urgent"))
        diff: dict[str, Any] = {}
        tp += got.is_lead and want_lead
        fp += got.is_lead and not want_lead
        fn += want_lead and not got.is_lead
        tn += not want_lead and not got.is_lead
        utp += got.urgent and want_urgent
        ufp += got.urgent and not want_urgent
        ufn += want_urgent and not got.urgent
        if got.is_lead != want_lead:
            diff["is_lead"] = [want_lead, got.is_lead]
        if got.urgent != want_urgent:
            diff["urgent"] = [want_urgent, got.urgent]
        if want_lead:
            wanted = {"category": label.get("category"), **(label.get("geo") or {})}
            actual = {"category": got.category, **got.geo.model_dump()}
            for key in right:
                if wanted.get(key):
                    labelled[key] += 1
                    if wanted[key] == actual.get(key):
                        right[key] += 1
                    else:
                        diff[key] = [wanted[key], actual.get(key)]
        if diff and len(misses) < MISSES_CAP:
            misses.append(
                {"id": ident, "text": post.text[:60], "diff": diff, "reasons": got.reasons}
            )
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "posts": tp + fp + fn + tn,
        "bad_lines": bad,
        "is_lead": {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
        },
        "urgent": {"precision": _ratio(utp, utp + ufp), "recall": _ratio(utp, utp + ufn)},
        **{f"{k}_accuracy": _ratio(right[k], labelled[k]) for k in right},
        "labelled": labelled,
        "misses": misses,
    }


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
