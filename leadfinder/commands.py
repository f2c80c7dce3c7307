"""The leadfinder's CLI commands: extract JSONL, score against a labelled set, benchmark."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TextIO

import jieba
from pydantic import ValidationError

from leadfinder.extract import Extraction, Extractor
from xianban.jsonl import binary, dumps, parse_line, read_jsonl, where
from xianban.progress import progress_bar
from xianban.records import Post

GEO_FIELDS = ("district", "street", "community", "road", "poi")


def parse_post(line: str) -> tuple[str | None, Post | str]:
    """(id, post) or (id, the reason the line is unusable); ids are kept even on bad lines."""
    parsed = parse_line(line.encode("utf-8", "surrogatepass"), "输入", 1)
    if parsed.data is None:
        return None, str(parsed.error)
    return post_from(parsed.data)


def post_ident(data: dict[str, Any]) -> str | None:
    """The line's id: ``id`` when given, else ``platform:native_id`` (the post's natural id,
    what ``xianban crawl`` writes), else ``native_id``."""
    for key in ("id", "native_id"):
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            if key == "native_id" and isinstance(data.get("platform"), str) and data["platform"]:
                return f"{data['platform']}:{value}"
            return str(value)
    return None


def post_from(data: dict[str, Any], where: str = "") -> tuple[str | None, Post | str]:
    """(id, post) from a JSON object in any shape that carries a post: ``xianban crawl``'s
    (``platform`` + ``native_id``), the labelled and simulator pool files' (``id``), or a
    bare ``{"id", "text"}``; or (id, why not). ``where`` prefixes the reason."""
    at = f"{where}：" if where else ""
    ident = post_ident(data)
    if ident is None:
        return None, f"{at}缺少 id（字符串或整数），或 platform + native_id"
    text, title = data.get("text"), data.get("title")
    has_title = isinstance(title, str) and bool(title.strip())
    if not isinstance(text, str) or not (text.strip() or has_title):
        return ident, f"{at}缺少 text 或 text 不是非空字符串"
    fields = {k: v for k, v in data.items() if k in Post.model_fields}
    fields.setdefault("platform", "input")
    native = data.get("native_id")
    if not (isinstance(native, str | int) and not isinstance(native, bool)):
        fields["native_id"] = ident
    else:
        fields["native_id"] = str(native)
    try:
        return ident, Post.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "(帖子)"
        return ident, f"{at}字段 {field} 不合法：{first['msg']}"


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


def extract_command(
    src: IO[bytes] | TextIO,
    dst: TextIO,
    configs_dir: Path,
    *,
    name: str = "stdin",
    extractor: Extractor | None = None,
    errors: list[str] | None = None,
) -> tuple[int, int]:
    """One JSON line on ``dst`` per line of ``src``, in order: the result, or
    ``{"id", "error"}`` for a line that is not a usable post (``xianban.jsonl`` says what
    a line is). Returns (good lines, bad lines); the bad lines' messages go to ``errors``."""
    extractor = extractor or Extractor.load(configs_dir)
    ok = bad = 0
    for line in read_jsonl(binary(src), name):
        ident: str | None
        post: Post | str
        if line.data is None:
            ident, post = None, str(line.error)
        else:
            ident, post = post_from(line.data, where(name, line.number))
        if isinstance(post, str):
            bad += 1
            out: dict[str, Any] = {"id": ident, "error": post}
            if errors is not None:
                errors.append(post)
        else:
            ok += 1
            out = result_json(ident or post.native_id, extractor.extract(post))
        dst.write(dumps(out) + "\n")
        dst.flush()
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


# Problem clauses as people write them, so a quarter of the bench takes the lead path
# (explanations, urgency) as a real stream's problem posts do.
PROBLEMS = (
    "我们小区门口那个井盖又不见了，黑乎乎一个洞,",
    "楼下那排路灯坏了快一个月，晚上走路全靠手机照,",
    "隔壁工地半夜两点还在打桩，整栋楼都睡不着,",
    "地铁站C口那段台阶裂了好大一条缝，老人上下很危险,",
    "菜市场旁边的垃圾站天天往外流黑水，臭得不行,",
    "路口的红绿灯早上又不亮了，车和人乱成一团,",
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
            parts.insert(rng.randrange(len(parts)), rng.choice(PROBLEMS))
        elif i % 4 == 2:  # chatter that uses the phrase lists' words
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
    sample = bench_posts(extractor, posts)
    keywords = [word for word, _ in extractor.automaton.items()]
    jieba.initialize()
    extractor.extract(sample[0])  # warm the lazily built structures out of the timing

    def baseline(post: Post) -> tuple[list[str], list[str]]:
        tokens: list[str] = jieba.lcut(post.text)
        return tokens, [k for k in keywords if k in post.text]

    # Alternate chunks so a neighbour's load on the shared machine hits both sides alike.
    ours = base = 0.0
    with progress_bar("基准：线索识别 vs jieba", total=len(sample)) as bar:
        for i in range(0, len(sample), BENCH_CHUNK):
            chunk = sample[i : i + BENCH_CHUNK]
            # Ours as the stage runs it, a batch at a time (the model scores a batch in one
            # product); jieba has no batch mode, so the baseline goes post by post.
            ours += _timed(extractor.extract_many, chunk)
            base += _timed(lambda posts: [baseline(p) for p in posts], chunk)
            bar.advance(len(chunk))
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
