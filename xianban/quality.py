"""``xianban eval`` and the quality bench: the leadfinder measured on labelled files and on
the simulator's world, and what the verifier would file from it.

A labelled file is scored post by post (``leadfinder.scoring``). ``--sim`` starts the
simulator on localhost, crawls every platform through the configured sources' real
adapters (keyword platforms with a sweep of queries that together reach every post, the
news feeds polled as the clock moves), and scores the posts against ``corpus.truth``: the
headline numbers count the written originals only; reposts and near-duplicates are scored
for what clustering does with them, filler posts apart.

Every evaluation also runs its posts through the real leadfinder and verifier stages (a
throw-away SQLite store, so clustering and corroboration work as in the loop) and reports
``filed``: the clusters the automatic rules confirm, i.e. the cases that would be opened,
how many of them are real problems and (``--sim``) how many the first unit the duties list
names would accept (``first_time_routing``, by the simulated city's duty judge).

The never-tuned seed (``sim.platforms.pool_posts.HELD_OUT_SEED``) reports numbers only,
never the posts it got wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from leadfinder.commands import post_from
from leadfinder.labelled import CALIBRATION
from leadfinder.scoring import Label, Scorer, ratio
from leadfinder.stage import LeadfinderStage
from verifier.stage import VerifierStage
from xianban.errors import ConfigError, InputError
from xianban.jsonl import open_input, read_jsonl, where
from xianban.progress import progress_bar
from xianban.records import CrawlTask, Lead, Post, Verdict, stable_id
from xianban.settings import ROOT, Settings
from xianban.stage import StageContext
from xianban.store import Store

if TYPE_CHECKING:
    from sim.platforms.corpus import Corpus

DEV_SET = ROOT / "tests" / "data" / "leadfinder" / "dev.jsonl"
SWEEP_CHARS = frozenset("，。！？、：；")
EVAL_RESULT_CAP = 1_000_000
"""The eval's simulator lists every match: coverage is the eval's business, not the cap's."""
FEED_STEP = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Case:
    """A confirmed cluster: the case the case opener would open, with the lead it opens on."""

    cluster_id: str
    lead: Lead
    rule: str


@dataclass
class Filed:
    leads: dict[str, Lead]
    """The lead each post became, by post id (posts that are not leads are absent)."""
    cases: list[Case]


async def file_cases(posts: Sequence[Post], settings: Settings) -> Filed:
    """Run ``posts`` (in order) through the real leadfinder and verifier stages on a
    throw-away store; the confirmed clusters are the cases that would be filed."""
    leads: dict[str, Lead] = {}
    cases: dict[str, Case] = {}
    with tempfile.TemporaryDirectory(prefix="xianban-eval-") as tmp:
        local = settings.model_copy(update={"data_dir": Path(tmp), "database_url": None})
        store = await Store.open(local.db_url)
        try:
            ctx = StageContext(settings=local, store=store)
            finder, verifier = LeadfinderStage(ctx), VerifierStage(ctx)
            await finder.start()
            await verifier.start()
            with progress_bar("识别线索并核验", total=len(posts)) as bar:
                for post in posts:
                    bar.advance()
                    await _file_one(post, finder, verifier, leads, cases)
            await finder.close()
            await verifier.close()
        finally:
            await store.close()
    return Filed(leads=leads, cases=list(cases.values()))


async def _file_one(
    post: Post,
    finder: LeadfinderStage,
    verifier: VerifierStage,
    leads: dict[str, Lead],
    cases: dict[str, Case],
) -> None:
    for lead in await finder.handle(post):
        if not isinstance(lead, Lead):
            continue  # a post below the threshold, handed on to the weak-signal stage
        leads[post.post_id] = lead
        for verdict in await verifier.handle(lead):
            if isinstance(verdict, Verdict) and verdict.decision == "confirmed":
                rule = verdict.by.removeprefix("rule:")
                cases.setdefault(lead.cluster_id, Case(lead.cluster_id, verdict.lead, rule))


def filed_report(
    filed: Filed, labels: dict[str, Label], among: set[str] | None = None
) -> dict[str, Any]:
    """Precision of what would be filed (is the case's post a lead by its label?), the not-
    leads filed by kind, and how many labelled leads and urgent posts (of ``among``, default
    all) ended in a case."""
    true = [c for c in filed.cases if labels[c.lead.post_ids[0]].is_lead]
    wrong = Counter(
        labels[c.lead.post_ids[0]].kind or "(no kind)"
        for c in filed.cases
        if not labels[c.lead.post_ids[0]].is_lead
    )
    filed_clusters = {c.cluster_id for c in filed.cases}
    in_case = {pid for pid, lead in filed.leads.items() if lead.cluster_id in filed_clusters}
    counted = [(pid, label) for pid, label in labels.items() if among is None or pid in among]
    leads = [pid for pid, label in counted if label.is_lead]
    urgent = [pid for pid, label in counted if label.urgent]
    return {
        "cases": len(filed.cases),
        "true_cases": len(true),
        "precision": ratio(len(true), len(filed.cases)),
        "not_leads_filed_by_kind": dict(wrong.most_common()),
        "by_rule": dict(Counter(c.rule for c in filed.cases).most_common()),
        "leads_in_a_case": ratio(sum(p in in_case for p in leads), len(leads)),
        "urgent_in_a_case": ratio(sum(p in in_case for p in urgent), len(urgent)),
    }


async def _evaluate(
    labelled: Sequence[tuple[Post, Label]], settings: Settings, *, misses: bool
) -> dict[str, Any]:
    # Nothing to file without a post: no throw-away store for a file of bad lines.
    posts = [post for post, _ in labelled]
    filed = await file_cases(posts, settings) if posts else Filed(leads={}, cases=[])
    scorer = Scorer(keep_misses=misses)
    extractor = _extractor(settings)
    for post, label in labelled:
        scorer.add(post.native_id, post.text, label, extractor.extract(post))
    labels = {post.post_id: label for post, label in labelled}
    return scorer.report() | {"filed": filed_report(filed, labels)}


def _extractor(settings: Settings) -> Any:
    from leadfinder.extract import Extractor

    return Extractor.load(settings.configs_dir)


def read_labelled(
    path: Path | IO[bytes], name: str | None = None
) -> tuple[list[tuple[Post, Label]], list[dict[str, Any]]]:
    """(post, label) per good line of a labelled JSONL file, and the bad lines with why
    (``{"line", "id", "error"}``): every input line is in one of the two, in order."""
    good: list[tuple[Post, Label]] = []
    bad: list[dict[str, Any]] = []
    if isinstance(path, Path):
        src, shown = open_input(path)
    else:
        src, shown = path, name or "stdin"
    with contextlib.closing(src) if isinstance(path, Path) else contextlib.nullcontext():
        for line in read_jsonl(src, name or shown):
            if line.data is None:
                bad.append({"line": line.number, "id": None, "error": line.error})
                continue
            at = where(name or shown, line.number)
            ident, post = post_from(line.data, at)
            label = Label.parse(line.data)
            if isinstance(post, str) or isinstance(label, str):
                why = post if isinstance(post, str) else f"{at}：{label}"
                bad.append({"line": line.number, "id": ident, "error": why})
                continue
            good.append((post, label))
    return good, bad


def eval_file(path: Path, settings: Settings, *, misses: bool = True) -> dict[str, Any]:
    """Score a labelled JSONL file (calibration schema, or the dev set's nested ``geo``).

    ``lines`` is how many lines the file has; each is a scored post or in ``bad_lines``.
    A file that cannot be read, or has no line at all, is an ``InputError``."""
    labelled, bad = read_labelled(path)
    if not labelled and not bad:
        raise InputError(f"{path} 是空的：没有可评估的帖子（每行一个带标注的 JSON 对象）")
    report = asyncio.run(_evaluate(labelled, settings, misses=misses))
    return {
        "set": str(path),
        "lines": len(labelled) + len(bad),
        "posts": report.pop("posts"),
        "bad_lines": bad,
        **report,
    }


# --- the simulator's world ------------------------------------------------------------


def sweep_queries(texts: Iterable[str]) -> tuple[list[str], int]:
    """Single-character queries that together match every text (greedy set cover, ties by
    code point so the sweep is deterministic), and how many texts none can reach."""
    uncovered = [{c for c in text if c.isalnum() or c in SWEEP_CHARS} for text in texts]
    queries: list[str] = []
    while True:
        counts = Counter(c for chars in uncovered for c in chars)
        if not counts:
            return queries, len(uncovered)
        best = min(counts, key=lambda c: (-counts[c], c))
        queries.append(best)
        uncovered = [chars for chars in uncovered if best not in chars]


def _label(truth: Any) -> Label:
    return Label(
        is_lead=truth.is_lead,
        urgent=truth.urgent,
        category=truth.category,
        also=tuple(truth.also),
        district=truth.district,
        street=truth.street,
        road=truth.road,
        kind=truth.kind,
    )


async def crawl_world(settings: Settings, sim: Any) -> tuple[list[Post], list[str]]:
    """Every post the simulator serves, crawled through the configured sources' adapters:
    keyword sources with a query sweep over their platform, the others as configured, news
    feeds polled every ``FEED_STEP`` of simulated time. Returns the posts and the errors."""
    from crawlers.checkpoint import Checkpoint
    from crawlers.crawl import crawl_task
    from crawlers.fetch import HttpFetcher
    from crawlers.platforms import load_adapter
    from crawlers.platforms.feed import FeedAdapter
    from crawlers.sources import Source, load_sources
    from sim.platforms.corpus import HISTORY

    state = sim.platforms
    corpus = state.corpus
    ready = settings.model_copy(update={"sim_url": sim.url})
    seen: dict[str, Post] = {}
    errors: list[str] = []

    async def known(post_ids: Sequence[str]) -> set[str]:
        return seen.keys() & set(post_ids)

    def platform_of(source: Source) -> str:
        """The simulated site a source crawls (``Item.site``)."""
        return source.platform

    async def crawl(source: Source, queries: Sequence[str], now: datetime) -> None:
        adapter = load_adapter(source.adapter, source.options)
        polite = source.politeness.model_copy(update={"rate_per_s": 0.0})
        wide = source.model_copy(update={"lookback_days": 40.0, "politeness": polite})
        cookies = None
        if source.adapter == "xhs":
            cookies = {"web_session": state.sessions.issue("xhs").token}
        async with HttpFetcher(wide.url(ready), polite, cookies=cookies) as fetch:
            for query in queries:
                task = CrawlTask(
                    task_id=stable_id("eval", source.id, query, now.isoformat()),
                    source=source.id,
                    query=query or None,
                    pages=1000,
                    scheduled_at=now,
                )
                got = await crawl_task(adapter, wide, task, Checkpoint(), fetch, known, now=now)
                for post in got.posts:
                    if post.reply_to is None:  # comments and official replies are not scored
                        seen.setdefault(post.post_id, post)
                if got.error is not None:
                    errors.append(f"{source.id} {query!r}: {got.error.state}: {got.error}")

    sources = [
        s for s in load_sources(settings.configs_dir).values() if s.base_url.startswith("{sim}")
    ]
    feeds = {s.id for s in sources if isinstance(load_adapter(s.adapter, s.options), FeedAdapter)}
    anchor = corpus.anchor
    end = max((i.created_at for i in corpus.items), default=anchor) + timedelta(seconds=1)
    at = min(anchor - HISTORY, end)
    while at < end:
        state.elapsed = at - anchor
        for source in sources:
            if source.id in feeds:
                await crawl(source, [""], state.now())
        at += FEED_STEP
    state.elapsed = end - anchor
    now = state.now()
    with progress_bar("抓取模拟器中的帖子", total=len(sources)) as bar:
        for source in sources:
            bar.advance(note=source.id)
            if source.id in feeds:
                await crawl(source, [""], now)
                continue
            if source.query_kind != "keyword" or not any(source.queries):
                await crawl(source, source.queries, now)  # accounts, places, boards, listings
                continue
            texts = [i.text for i in corpus.items if i.site == platform_of(source)]
            queries, _ = sweep_queries(texts)
            await crawl(source, queries, now)
    return sorted(seen.values(), key=lambda p: (p.created_at or now, p.post_id)), errors


async def eval_sim(
    settings: Settings, *, seed: int, size: int, misses: bool = True
) -> tuple[dict[str, Any], list[Post]]:
    """Crawl the world of ``seed`` through the real adapters and score it; also returns the
    posts crawled (tests recompute the numbers from them)."""
    from sim.platforms.corpus import ANCHOR
    from sim.platforms.pool_posts import HELD_OUT_SEED
    from sim.server import SimServer

    held_out = seed == HELD_OUT_SEED
    misses = misses and not held_out
    async with SimServer(  # a fixed anchor: the same seed scores the same on any day
        host="127.0.0.1", seed=seed, corpus_size=size, result_cap=EVAL_RESULT_CAP, anchor=ANCHOR
    ) as sim:
        corpus = sim.platforms.corpus
        posts, errors = await crawl_world(settings, sim)
    truths = {post.post_id: corpus.truth(post.post_id) for post in posts}
    filed = await file_cases(posts, settings)
    extractor = _extractor(settings)
    main, filler, copies = Scorer(keep_misses=misses), Scorer(keep_misses=False), Scorer(False)
    for post in posts:
        truth = truths[post.post_id]
        scorer = copies if truth.duplicate else main if truth.pool_id else filler
        scorer.add(post.post_id, post.text, _label(truth), extractor.extract(post))
    labels = {pid: _label(t) for pid, t in truths.items()}
    originals = {pid for pid, t in truths.items() if t.pool_id and not t.duplicate}
    report = main.report()
    crawled = set(truths)
    by_platform = Counter(i.site for i in corpus.items if i.post_id not in crawled)
    report = {
        "set": f"sim seed {seed}" + (" (never tuned: numbers only)" if held_out else ""),
        "seed": seed,
        "size": size,
        "posts": report.pop("posts"),
        "coverage": {
            "served": len(corpus.items),
            "crawled": len(crawled),
            "unreached_by_platform": dict(by_platform.most_common()),
            "crawl_errors": errors,
            "pool_lines_skipped": corpus.pool_skipped,
        },
        **report,
        "filed": filed_report(filed, labels, originals)
        | {"duplicate_cases": _duplicate_cases(filed, truths)}
        | first_time_routing(filed, corpus, settings),
        "duplicates": _duplicates(filed, truths, copies),
        "filler": {
            k: v for k, v in filler.report().items() if k in ("posts", "is_lead", "by_kind")
        },
    }
    if held_out:
        report["misses_hidden"] = True
    return report, posts


def _duplicate_cases(filed: Filed, truths: dict[str, Any]) -> int:
    """Cases about an incident that already has a case (what issue 13 counts)."""
    seen: set[str] = set()
    repeats = 0
    for case in filed.cases:
        incident = truths[case.lead.post_ids[0]].incident
        repeats += incident in seen
        seen.add(incident)
    return repeats


def first_time_routing(filed: Filed, corpus: Corpus, settings: Settings) -> dict[str, Any]:
    """Cases the first unit would accept (the simulated city's duty judge on the unit the
    duties list names), as ``run --once`` counts them from the 退单 it gets back: the eval
    files nothing, so the judge is asked directly, and the never-tuned seed gets the figure
    as a number without a single case being looked at."""
    from case_opener.duties import DutiesList
    from sim.duty_judge import DutyJudge

    duties = DutiesList.load(settings.configs_dir)
    judge = DutyJudge(corpus, duties)
    returned = 0
    for case in filed.cases:
        lead = case.lead
        route = duties.route_lead(lead)
        judgement = judge.judge_unit(lead.post_ids, route.unit, lead.geo)
        returned += judgement is not None and not judgement.accepted
    cases = len(filed.cases)
    return {
        "first_time_routing": ratio(cases - returned, cases),
        "cases_rerouted": returned,
    }


def _duplicates(filed: Filed, truths: dict[str, Any], copies: Scorer) -> dict[str, Any]:
    """Reposts and near-duplicates: how many, and how many of the lead copies whose original
    became a lead joined that lead's cluster."""
    original_lead: dict[str, Lead] = {}
    for pid, lead in filed.leads.items():
        truth = truths[pid]
        if truth.duplicate is None and truth.incident:
            original_lead.setdefault(truth.incident, lead)
    joined = eligible = 0
    for pid, truth in truths.items():
        if not truth.duplicate or not truth.is_lead or truth.incident not in original_lead:
            continue
        eligible += 1
        copy = filed.leads.get(pid)
        joined += copy is not None and copy.cluster_id == original_lead[truth.incident].cluster_id
    kinds = Counter(t.duplicate for t in truths.values() if t.duplicate)
    return {
        "posts": dict(kinds.most_common()),
        "lead_copies_clustered_with_their_original": ratio(joined, eligible),
        "is_lead": copies.report()["is_lead"],
    }


# --- the bench ------------------------------------------------------------------------


def quality_report(
    settings: Settings, *, calibration: Path = CALIBRATION, dev: Path = DEV_SET, size: int = 10**6
) -> dict[str, Any]:
    """``bench/quality.json``: calibration (apart), the dev set and both simulator seeds,
    numbers only (no post texts: the calibration set's must never be copied anywhere)."""
    from sim.platforms.pool_posts import FIXED_SEED, HELD_OUT_SEED

    if not calibration.is_file():
        raise ConfigError(
            f"calibration set not found at {calibration}: it is kept outside the project "
            "(../shared/eval/calibration.jsonl); pass --calibration PATH"
        )
    fixed, _ = asyncio.run(eval_sim(settings, seed=FIXED_SEED, size=size, misses=False))
    held, _ = asyncio.run(eval_sim(settings, seed=HELD_OUT_SEED, size=size, misses=False))
    return {
        "calibration": eval_file(calibration, settings, misses=False)
        | {"note": "measurement only: never training data, never a source of list entries"},
        "dev": eval_file(dev, settings, misses=False),
        "sim_fixed": fixed,
        "sim_never_tuned": held,
    }
