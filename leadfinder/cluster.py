"""重复诉求识别: a SimHash over character 3-grams, so reworded copies of one complaint match.

Stateless workers agree on a cluster id without talking to each other: the id is taken from
the earliest lead the store already holds for a near-duplicate (same category and district,
close SimHash, inside the time window), else derived from the post itself.
"""

from __future__ import annotations

import hashlib
import re

from leadfinder.normalise import normalise

_NOISE = re.compile(r"[\s\W_]+")
_REPOST = re.compile(r"//@[^:：]*[:：]?")


def simhash(text: str, n: int = 3) -> int:
    chars = _NOISE.sub("", _REPOST.sub("", normalise(text)))
    grams = {chars[i : i + n] for i in range(max(1, len(chars) - n + 1))}
    weights = [0] * 64
    for gram in grams:
        h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
