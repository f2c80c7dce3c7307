"""重复诉求识别: a SimHash over character 3-grams, so reworded copies of one complaint match.

Stateless workers agree on a cluster id without talking to each other: the id is taken from
the earliest lead the store already holds for a near-duplicate (same category and district,
close SimHash, inside the time window), else derived from the post itself.

A near-identical copy (the same post pasted on with "转自群聊：" before it or "（转）" after it)
also joins whatever category the model gave it: close SimHash and one shared run of
characters covering nearly all of the shorter text. SimHash alone is too loose for that:
unrelated posts of one district come within 11 bits of each other, while copies of a short
post with a prefix are 14 apart; the run alone would call a short post a copy of a long one
that quotes it.
"""

from __future__ import annotations

import hashlib
import math
import re
from functools import lru_cache

import numpy as np

from leadfinder.normalise import normalise

_NOISE = re.compile(r"[\s\W_]+")
_REPOST = re.compile(r"//@[^:：]*[:：]?")
COPY_SHARE = 0.85
"""Of the shorter text, what one run shared with the other must cover for a copy. Two
copies of one post with a prefix each ("转自群聊：" + 43 characters + " +1", "帮朋友发一下：" + the
same 43) share 0.896 of the shorter; among the 11,590 distinct texts of the training corpus
and the written pool, 3 pairs within ``max_hamming`` share 0.85 or more (all chatter, no lead)."""
COPY_MIN_RUN = 12
"""Characters that run must have at least: a short phrase ("路灯坏了") is no copy."""
COPY_MAX_CHARS = 5_000
"""Texts longer than this are not compared as copies (the longest of the 13,114 written
and training posts has 338 characters; a hostile post has up to 100,000, and one built
to repeat a phrase would cost the run's search seconds)."""


def bare(text: str) -> str:
    """What SimHash reads of a post: normalised, without repost marks, punctuation, spaces."""
    return _NOISE.sub("", _REPOST.sub("", normalise(text)))


def simhash(text: str, n: int = 3) -> int:
    return simhash_of_bare(bare(text), n)


@lru_cache(maxsize=4096)
def fingerprint(text: str) -> tuple[str, int]:
    """``bare(text)`` and its SimHash, remembered: clustering through the store compares
    each post with the same recent leads again."""
    chars = bare(text)
    return chars, simhash_of_bare(chars)


@lru_cache(maxsize=1 << 13)
def simhash_of_bare(chars: str, n: int = 3) -> int:
    """Remembered by text: a stream carries the same text again and again (a post seen
    again, copies, the window's leads); the bench's 2,000 posts have 922 bare texts."""
    grams = {chars[i : i + n] for i in range(max(1, len(chars) - n + 1))}
    hashes = np.fromiter(map(gram_hash, grams), dtype="<u8", count=len(grams))
    # A bit is set when more grams have it than not (each gram votes +1 or -1 per bit):
    # column b of the unpacked little-endian bytes is bit b of each hash.
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    ones = bits.sum(axis=0, dtype=np.int64)
    return int.from_bytes(np.packbits(2 * ones > len(grams), bitorder="little").tobytes(), "little")


@lru_cache(maxsize=1 << 15)
def gram_hash(gram: str) -> int:
    """A gram's 64-bit hash, remembered: the same character 3-grams recur from post to post
    (a third of a post's SimHash time was hashing them again)."""
    return int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def may_be_copy(chars: str) -> bool:
    """A bare text ``near_identical`` may call a copy of something."""
    return COPY_MIN_RUN <= len(chars) <= COPY_MAX_CHARS


def near_identical(a: str, b: str) -> bool:
    """Two bare texts (``bare``) are one post copied: a prefix, a suffix or a cut end apart,
    one shared run covering ``COPY_SHARE`` of the shorter.

    Such a run covers the shorter text's middle (from ``len - need`` to ``need``) wherever
    it starts, so only where that middle occurs in the longer text is a run looked for,
    and grown with slice compares: linear in practice, where a longest-common-substring
    search in Python is quadratic."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    need = max(COPY_MIN_RUN, math.ceil(COPY_SHARE * len(short)))
    if need > len(short) or len(long_) > COPY_MAX_CHARS:
        return False
    lo, hi = len(short) - need, need
    middle = short[lo:hi]
    at = long_.find(middle)
    while at != -1:
        end = at + len(middle)
        left = _common_prefix(short[:lo][::-1], long_[max(0, at - lo) : at][::-1])
        right = _common_prefix(short[hi:], long_[end : end + len(short) - hi])
        if left + len(middle) + right >= need:
            return True
        at = long_.find(middle, at + 1)
    return False


def _common_prefix(x: str, y: str) -> int:
    """How many characters ``x`` and ``y`` start with alike, by halving (slice compares)."""
    low, high = 0, min(len(x), len(y))
    while low < high:
        mid = (low + high + 1) // 2
        if x[:mid] == y[:mid]:
            low = mid
        else:
            high = mid - 1
    return low
