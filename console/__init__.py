"""The console and the ticket API: one FastAPI app the wiring serves with uvicorn.

``create_app`` is imported on first use (PEP 562): the webhook stage and the case opener
import modules of this package, and the whole app (every route, FastAPI's models) was
~0.5 s of every ``xianban run --once`` and worker start that serves no console.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from console.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
