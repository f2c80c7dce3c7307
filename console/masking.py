"""Masking of personal numbers in everything the console shows or sends.

Posts quote phone numbers and ID-card numbers ("联系我 13812341234"). The case record in
the store keeps them, because the department handling the case may need to call back;
every page, API response and webhook body shows them masked. Masking is applied at the
output boundary (the template engine's finalize hook and the JSON responses), so a new
page or field cannot forget it.
"""

from __future__ import annotations

import re
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


def mask_data(value: Any) -> Any:
    """Mask every string in a JSON-like structure (dict keys included)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_data(k): mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(v) for v in value]
    return value


def mask_for_template(value: Any) -> Any:
    """Jinja ``finalize`` hook: runs on every ``{{ expression }}`` before autoescaping."""
    if isinstance(value, Markup):
        return Markup(mask_text(str(value)))
    if isinstance(value, str):
        return mask_text(value)
    return value
