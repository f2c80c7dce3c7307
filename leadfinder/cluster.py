"""重复诉求识别: a SimHash over character 3-grams, so reworded copies of one complaint match.

Stateless workers agree on a cluster id without talking to each other: the id is taken from
the earliest lead the store already holds for a near-duplicate (same category and district,
close SimHash, inside the time window), else derived from the post itself.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from leadfinder.normalise import normalise

_NOISE = re.compile(r"[\s\W_]+")
_REPOST = re.compile(r"//@[^:：]*[:：]?")
_BITS = np.arange(64, dtype=np.uint64)


def simhash(text: str, n: int = 3) -> int:
    chars = _NOISE.sub("", _REPOST.sub("", normalise(text)))
    grams = {chars[i : i + n] for i in range(max(1, len(chars) - n + 1))}
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams),
        dtype=np.uint64,
        count=len(grams),
    )
    # A bit is set when more grams have it than not (each gram votes +1 or -1 per bit).
    ones = ((hashes[:, None] >> _BITS) & np.uint64(1)).sum(axis=0)
    return sum(1 << int(bit) for bit in np.flatnonzero(2 * ones.astype(np.int64) > len(grams)))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
