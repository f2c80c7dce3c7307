"""The world around the posts: sites within a family, reporters' accounts, comment threads."""

from __future__ import annotations

from collections import Counter

from sim.platforms import generate
from sim.platforms.accounts import REPORTERS
from sim.platforms.comments import COMMENTED_SITES, MAX_COMMENTS, REPLIED_SITES
from sim.platforms.venues import BOARDS, FAMILY, SITES, board_of, site_of


def test_every_post_is_served_on_one_site_of_its_family() -> None:
    corpus = generate(7, 10**6)
    for item in corpus.items:
        assert FAMILY[item.site] == item.platform
        assert item.post_id == f"{item.site}:{item.native_id}"
        assert corpus.truth(item.post_id) == item.truth
    assert {i.site for i in corpus.items} == {s for sites in SITES.values() for s, _ in sites}


def test_sites_and_boards_come_from_the_id_alone() -> None:
    assert site_of("douyin", "kuaishou", "123") == site_of("douyin", "kuaishou", "123")
    assert site_of("weibo", "", "5") == "weibo"
    assert site_of("nowhere", "", "5") == "nowhere"
    for site, boards in BOARDS.items():
        assert board_of(site, "42") in boards
    assert board_of("weibo", "42") == ("", "")


def test_reporters_post_several_times_each() -> None:
    corpus = generate(7, 10**6)
    for site, reporters in REPORTERS.items():
        counts = Counter(i.author for i in corpus.items if i.site == site)
        for reporter in reporters:
            assert counts[reporter] >= 3, f"{reporter.name} on {site}"


def test_threads_are_the_same_every_time_and_their_truth_is_never_a_lead() -> None:
    corpus, again = generate(7, 10**6), generate(7, 10**6)
    commented = [i for i in corpus.items if i.site in COMMENTED_SITES and i.comments]
    assert commented
    long_threads = 0
    for item in commented:
        threads = corpus.threads(item)
        assert threads == again.threads(again.get(item.native_id) or item)
        assert len(threads) == min(item.comments, MAX_COMMENTS)
        for thread in threads:
            assert thread.comment.reply_to == item.native_id and thread.comment.root is None
            assert thread.comment.created_at > item.created_at
            ids = {thread.comment.native_id}
            for reply in thread.replies:
                assert reply.root == thread.comment.native_id and reply.reply_to in ids
                ids.add(reply.native_id)
            long_threads += len(thread.replies) >= 12
            for comment in (thread.comment, *thread.replies):
                truth = corpus.truth(f"{item.site}:{comment.native_id}")
                assert truth.kind == "comment" and not truth.is_lead
    assert long_threads >= 3, "some 楼中楼 need paging to their end"


def test_letters_on_boards_get_one_official_reply_or_none() -> None:
    corpus = generate(7, 10**6)
    boards = [i for i in corpus.items if i.site in REPLIED_SITES]
    for item in boards:
        for thread in corpus.threads(item):
            assert thread.comment.official and thread.comment.author.verified
            assert corpus.truth(thread.comment.native_id).kind == "official_reply"
