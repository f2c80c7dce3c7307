"""JSON responses for machines, masked on the way out like every page."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

from console.masking import mask_data


class MaskedJSONResponse(JSONResponse):
    """UTF-8 JSON (Chinese kept readable, not ``\\uXXXX``) with personal numbers masked."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            mask_data(content), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
