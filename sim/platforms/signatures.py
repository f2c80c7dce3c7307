"""How the simulated platforms check request signatures, as the real ones do.

Each platform keeps its own secret (``SimState.signing``); ops tests rotate one with
``POST /_admin/signing {"scheme", "key"}`` to imitate a platform changing its scheme: the
crawlers' signer then fails until it is given the new key, which is the point — the fix
goes to one signer, not to every adapter. Written here from the platforms' side, apart from
``crawlers/signing.py``, so a wrong signer fails the tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import urlencode

KEYS: Mapping[str, str] = {
    "douyin-a_bogus": "dy-web-2026.11",
    "heimao-sha256": "$hm-tousu-sina-2026",
}
WBI_ORDER = (
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19,
    29, 28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17, 0, 1, 60, 51, 30, 4,
    22, 25, 54, 21, 56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52,
)  # fmt: skip


def fnv(text: str) -> str:
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def douyin_ok(params: Mapping[str, str], key: str) -> bool:
    """``a_bogus`` over every other query parameter, sorted, and the platform's key."""
    given = params.get("a_bogus", "")
    rest = {k: v for k, v in params.items() if k not in ("a_bogus", "_fault")}
    query = "&".join(f"{k}={rest[k]}" for k in sorted(rest))
    return bool(given) and given == fnv(f"{query}|{key}")


def wbi_keys(seed: int) -> tuple[str, str]:
    """The img_key and sub_key ``/x/web-interface/nav`` hands out (32 hex chars each)."""
    return (
        hashlib.sha256(f"img:{seed}".encode()).hexdigest()[:32],
        hashlib.sha256(f"sub:{seed}".encode()).hexdigest()[:32],
    )


def wbi_ok(params: Mapping[str, str], seed: int) -> bool:
    given = params.get("w_rid", "")
    if not given or "wts" not in params:
        return False
    img, sub = wbi_keys(seed)
    mixin = "".join((img + sub)[i] for i in WBI_ORDER)[:32]
    rest = {k: v for k, v in params.items() if k not in ("w_rid", "_fault")}
    clean = {k: "".join(c for c in v if c not in "!'()*") for k, v in sorted(rest.items())}
    expected = hashlib.md5((urlencode(clean) + mixin).encode(), usedforsecurity=False).hexdigest()
    return given == expected


def heimao_ok(params: Mapping[str, str], key: str) -> bool:
    parts = (
        [params.get(k, "") for k in ("ts", "rs")]
        + [key]
        + [params.get(k, "") for k in ("keywords", "page_size", "page")]
    )
    expected = hashlib.sha256("".join(sorted(parts)).encode()).hexdigest()
    return params.get("signature", "") == expected
