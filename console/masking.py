"""Masking of personal numbers in everything the console shows or sends.

Posts quote phone numbers and ID-card numbers ("联系我 13812341234"). The case record in
the store keeps them, because the department handling the case may need to call back;
every page, API response and webhook body shows them masked. Masking is applied at the
output boundary (the template engine's finalize hook and the JSON responses), so a new
page or field cannot forget it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from markupsafe import Markup

# An 18-character resident ID: 6-digit region, 8-digit birth date, 3-digit sequence, check
# digit (0-9 or X). Digits on either side mean it is part of a longer number, not an ID.
_ID_CARD = re.compile(r"(?<!\d)(\d{4})\d{10}(\d{3}[\dXx])(?!\d)")
# A mainland mobile number, optionally written 138-1234-5678 or 138 1234 5678, optionally
# after +86 / 0086. Other digits around it mean it is part of an order or tracking number.
_MOBILE = re.compile(r"(?:(?<!\d)|(?<=\+86)|(?<=0086))(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """``13812341234`` → ``138****1234``; ``440301199001011234`` → ``4403**********1234``."""
    masked = _ID_CARD.sub(lambda m: f"{m.group(1)}{'*' * 10}{m.group(2)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", masked)


def mask_bytes(raw: bytes) -> bytes:
    """Mask inside raw bytes (a dead letter's original), keeping undecodable bytes as they are."""
    text = raw.decode("utf-8", errors="surrogateescape")
    return mask_text(text).encode("utf-8", errors="surrogateescape")


# Identifiers are ours or the platforms' (hex digests, numeric post ids), not personal
# numbers: masking a digit run inside one would break the link or lookup that uses it.
IDENTIFIER_KEYS: frozenset[str] = frozenset(
    {
        "id",
        "case_id",
        "cluster_id",
        "lead_id",
        "verdict_id",
        "event_id",
        "external_id",
        "post_ids",
        "service_request_id",
        "service_code",
    }
)


class Identifier(str):
    """A string the template hook must not mask (``{{ case.case_id | ident }}``)."""

    __slots__ = ()


def mask_data(value: Any, *, keep: Collection[str] = IDENTIFIER_KEYS) -> Any:
    """Mask every string in a JSON-like structure, except the values of identifier keys."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(k): v if k in keep else mask_data(v, keep=keep) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(v, keep=keep) for v in value]
    return value


def mask_for_template(value: Any) -> Any:
    """Jinja ``finalize`` hook: runs on every ``{{ expression }}`` before autoescaping.

    ``Markup`` passes as it is: in our templates it is a macro's output, whose expressions
    were each finalized already (Jinja's ``join`` of plain strings returns a plain string).
    """
    if isinstance(value, str) and not isinstance(value, Identifier | Markup):
        return mask_text(value)
    return value
