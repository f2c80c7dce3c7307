"""Comments under posts, replies under comments (楼中楼), and official replies to letters.

Generated on demand per post from ``random.Random(f"comments:{seed}:{id}")`` — a stream of
its own, so the corpus's generator draws exactly what it drew before and a post's thread
is the same in every process. Comment text is chatter from the templates below (agreeing,
asking where, tagging a friend, a thank-you): never a report of a problem of its own, so
its truth is a non-lead of kind ``comment``. Official replies (``official_reply``) answer
letters on the 留言板 and 12345 boards in the shape departments write them, naming no
place and no detail of the letter.

How many comments a post shows follows its ``comments`` count, cut at ``MAX_COMMENTS``
(platforms count deleted and folded comments they no longer serve); a tenth of the
commented posts have a long 楼中楼 under one comment, so a crawler must page sub-comments
to their end to get them all.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sim.platforms.items import Author, Item
from sim.platforms.phrases import NAME_HEADS, NAME_TAILS

MAX_COMMENTS = 12
COMMENTED_SITES = frozenset({"weibo", "douyin", "kuaishou", "xhs", "bilibili", "tieba"})
REPLIED_SITES = frozenset({"liuyan", "12345"})

CHATTER = (
    "同问，我也想知道",
    "顶一下，希望有人看到",
    "关注了，有后续麻烦更新一下",
    "楼主说的是哪个位置呀？",
    "这个我知道，之前也有人说过",
    "支持楼主",
    "已转发给朋友看了",
    "谢谢分享",
    "哈哈哈哈评论区人才好多",
    "@{name} 快来看",
    "路过，看看",
    "说得对",
    "同感",
    "收藏了",
    "我就住附近，天天路过",
    "前排",
    "蹲一个后续",
    "这是哪天拍的？",
)
REPLIES = (
    "回复 @{name}：是的",
    "回复 @{name}：我也是这么想的",
    "回复 @{name}：不是这里吧",
    "回复 @{name}：哈哈哈",
    "回复 @{name}：谢谢告知",
    "回复 @{name}：同意",
    "回复 @{name}：等后续",
    "回复 @{name}：我也看到了",
)
DEPARTMENTS = (
    "区城市管理和综合执法局",
    "区住房和建设局",
    "区交通运输局",
    "属地街道办事处",
    "区生态环境分局",
    "区市场监督管理局",
    "区水务局",
    "区应急管理局",
)
OFFICIAL = (
    "您好！您反映的问题已收悉。经了解，我单位已安排工作人员核实处理，处理结果将及时告知。"
    "感谢您对我们工作的关心和支持！",
    "网友您好：来信收悉。我单位高度重视，已转交{dept}办理，并督促其尽快处理到位。"
    "如有疑问可拨打12345热线咨询。",
    "您好，关于您的留言，{dept}已于收到当日派员到场核查，并已按程序处理完毕。"
    "感谢您的监督，欢迎继续提出宝贵意见。",
)


@dataclass(frozen=True)
class Comment:
    """A comment (``root`` None) or a reply inside one comment's thread (楼中楼)."""

    native_id: str
    post_id: str
    """Native id of the post it is under."""
    root: str | None
    """Native id of the comment whose thread it is in; None for a top-level comment."""
    reply_to: str
    """Native id of what it answers: the post, or a comment of the thread."""
    text: str
    author: Author
    created_at: datetime
    likes: int
    ip_region: str
    official: bool = False


@dataclass(frozen=True)
class Thread:
    comment: Comment
    replies: tuple[Comment, ...]


def _name(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return f"用户{rng.randint(1_000_000_000, 9_999_999_999)}"
    return rng.choice(NAME_HEADS) + rng.choice(NAME_TAILS) + str(rng.randint(1, 999))


def _id(site: str, *parts: str) -> str:
    digest = hashlib.sha1(":".join(parts).encode()).hexdigest()
    if site == "xhs":
        return "6" + digest[:23]
    return str(10**17 + int(digest[:14], 16) % (9 * 10**17))


def threads(seed: int, item: Item, site: str) -> tuple[Thread, ...]:
    """The comment threads under ``item``, oldest first."""
    if site in REPLIED_SITES:
        return _official(seed, item, site)
    if site not in COMMENTED_SITES or item.comments <= 0:
        return ()
    rng = random.Random(f"comments:{seed}:{item.native_id}")
    count = min(item.comments, MAX_COMMENTS)
    long_thread = rng.randrange(count) if rng.random() < 0.1 else -1
    out = []
    at = item.created_at
    for n in range(count):
        at = at + timedelta(minutes=rng.randint(1, 240))
        author = Author(rng.randint(1_000_000_000, 7_999_999_999), _name(rng), 0, False)
        text = rng.choice(CHATTER).format(name=_name(rng))
        cid = _id(site, "c", str(seed), item.native_id, str(n))
        comment = Comment(
            native_id=cid,
            post_id=item.native_id,
            root=None,
            reply_to=item.native_id,
            text=text,
            author=author,
            created_at=at,
            likes=int(rng.lognormvariate(0.5, 1.2)),
            ip_region="香港" if rng.random() < 0.03 else "广东",
        )
        if n == long_thread:
            replies = rng.randint(12, 25)
        else:
            replies = rng.choice((0, 0, 0, 0, 0, 0, 1, 1, 2, 3))
        thread: list[Comment] = []
        reply_at = at
        for k in range(replies):
            reply_at = reply_at + timedelta(minutes=rng.randint(1, 120))
            previous = thread[-1] if thread and rng.random() < 0.4 else comment
            text = rng.choice(REPLIES).format(name=previous.author.name)
            replier = Author(rng.randint(1_000_000_000, 7_999_999_999), _name(rng), 0, False)
            thread.append(
                Comment(
                    native_id=_id(site, "r", str(seed), cid, str(k)),
                    post_id=item.native_id,
                    root=cid,
                    reply_to=previous.native_id,
                    text=text,
                    author=replier,
                    created_at=reply_at,
                    likes=int(rng.lognormvariate(0, 1)),
                    ip_region="广东",
                )
            )
        out.append(Thread(comment, tuple(thread)))
    return tuple(out)


def _official(seed: int, item: Item, site: str) -> tuple[Thread, ...]:
    """One reply from the department, for the letters that have been answered (two in
    three); the rest are still being handled."""
    rng = random.Random(f"official:{seed}:{item.native_id}")
    if rng.random() >= 2 / 3:
        return ()
    dept = rng.choice(DEPARTMENTS)
    text = rng.choice(OFFICIAL).format(dept=dept)
    at = item.created_at + timedelta(hours=rng.randint(6, 120))
    reply = Comment(
        native_id=_id(site, "o", str(seed), item.native_id),
        post_id=item.native_id,
        root=None,
        reply_to=item.native_id,
        text=text,
        author=Author(0, dept, 0, True),
        created_at=at,
        likes=0,
        ip_region="广东",
        official=True,
    )
    return (Thread(reply, ()),)
