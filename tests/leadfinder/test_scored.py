"""What the leadfinder knows of a post before clustering, across the child's pipe."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
from concurrent.futures.process import BrokenProcessPool

import pytest

from leadfinder.cluster import bare, simhash_of_bare
from leadfinder.extract import Extractor
from leadfinder.scored import ExtractorProcess, Scored, from_rows, score_posts, to_rows
from xianban.errors import TransientError
from xianban.records import Engagement, PlaceHints, Post
from xianban.settings import ROOT

CONFIGS = ROOT / "configs"
POSTS = [
    Post(platform="weibo", native_id="1", text="龙华民治这边路灯一直冒火花，小孩天天路过"),
    Post(
        platform="douyin",
        native_id="2",
        text="转发：龙华民治这边路灯一直冒火花，小孩天天路过",
        repost_of="weibo:1",
    ),
    Post(platform="xhs", native_id="3", text="好吃"),
    Post(
        platform="weibo",
        native_id="4",
        title="求助",
        text="南山蛇口这边井盖不见了，晚上看不见，已经有人摔了",
        engagement=Engagement(likes=500, comments=80),
        place_hints=PlaceHints(poi="蛇口花园城", ip_location="广东"),
        media=["a.jpg"],
    ),
]


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load(CONFIGS)


def test_clustering_texts_only_for_the_posts_clustering_reads(extractor: Extractor) -> None:
    scored = score_posts(extractor, POSTS)
    assert [s.found for s in scored] == extractor.extract_many(POSTS)
    lead, repost, chatter, _ = scored
    assert lead.found.is_lead and lead.chars == bare(POSTS[0].text)
    assert lead.simhash == simhash_of_bare(bare(POSTS[0].text))
    assert repost.chars is not None  # a repost joins its original whatever its score
    assert chatter == Scored(chatter.found, None, 0)  # short chatter: nothing to compare


def test_a_batch_comes_back_from_its_rows_equal(extractor: Extractor) -> None:
    scored = score_posts(extractor, POSTS)
    rows = to_rows(scored)
    assert pickle.loads(pickle.dumps(rows)) == rows  # what the pool's pipe does to them
    assert from_rows(rows) == scored


async def test_the_child_scores_as_this_process_does(extractor: Extractor) -> None:
    child = ExtractorProcess(CONFIGS)
    try:
        assert await child.start() == extractor.labels
        ahead = [child.submit(POSTS[:2]), child.submit(POSTS[2:])]
        got = [s for pending in ahead for s in await child.result(pending)]
        assert got == score_posts(extractor, POSTS)
    finally:
        await child.close()


async def test_a_child_that_died_is_replaced(extractor: Extractor) -> None:
    """The batch it had in hand is a TransientError (the worker retries it); the next
    batch starts a new child."""
    child = ExtractorProcess(CONFIGS)
    try:
        await child.start()
        pool = child._executor()
        killed = asyncio.wrap_future(pool.submit(os._exit, 1))
        in_flight = child.submit(POSTS)  # queued behind the call that kills the child
        with pytest.raises(BrokenProcessPool):
            await killed
        with pytest.raises(TransientError, match="died"):
            await child.result(in_flight)
        again = await child.result(child.submit(POSTS))
        assert again == score_posts(extractor, POSTS)
        assert child._executor() is not pool
    finally:
        await child.close()


async def test_the_child_leaves_signals_to_its_parent(extractor: Extractor) -> None:
    """Ctrl-C or a SIGTERM to the whole process group is the parent's to act on: the
    child goes on scoring, so the parent can finish its batch."""
    child = ExtractorProcess(CONFIGS)
    try:
        await child.start()
        pid = await asyncio.wrap_future(child._executor().submit(os.getpid))
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
        await asyncio.sleep(0.2)
        assert await child.result(child.submit(POSTS)) == score_posts(extractor, POSTS)
    finally:
        await child.close()
