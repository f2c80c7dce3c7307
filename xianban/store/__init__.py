"""The store: SQLAlchemy 2 async over SQLite or PostgreSQL, migrations shipped inside."""

from __future__ import annotations

from xianban.store.rows import AuditRow, ClusterRow, OutboxItem, SourceState, TaskRow
from xianban.store.similar_cases import SimilarCases as _SimilarCases  # noqa: F401  (0005)
from xianban.store.store import Store
from xianban.store.ticket_api import ApiTokens as _ApiTokens  # noqa: F401  (0003's tables)
from xianban.store.verification import SiteChecks as _SiteChecks  # noqa: F401  (0002's tables)

__all__ = [
    "AuditRow",
    "ClusterRow",
    "OutboxItem",
    "SourceState",
    "Store",
    "TaskRow",
    "upgrade",
]


async def upgrade(url: str) -> str:
    """Apply every migration to the database at ``url``; returns the head revision."""
    store = await Store.open(url)
    try:
        return await store.revision()
    finally:
        await store.close()
