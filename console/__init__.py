"""The console and the ticket API: one FastAPI app the wiring serves with uvicorn."""

from __future__ import annotations

from console.app import create_app

__all__ = ["create_app"]
