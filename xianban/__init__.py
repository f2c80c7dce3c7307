"""xianban's spine: what every stage shares (records, errors, settings, the stage seam).

Only the names in ``__all__`` are public; tests/test_exported_members.py keeps it so.
The bus, the store and the runtime live in their own subpackages/modules
(``xianban.bus``, ``xianban.store``, ``xianban.runtime``) because importing them pulls in
drivers that a stage's pure logic does not need.
"""

from __future__ import annotations

from xianban.errors import (
    ConfigError,
    NotBuiltError,
    PermanentError,
    TransientError,
    XianbanError,
)
from xianban.records import (
    CATEGORIES,
    Author,
    Case,
    CaseEvent,
    CrawlTask,
    DeadLetter,
    Engagement,
    Geo,
    Lead,
    PlaceHints,
    Post,
    Record,
    RecordError,
    Verdict,
    stable_id,
    utcnow,
)
from xianban.settings import Settings, load_settings
from xianban.stage import Stage, StageContext, StageFactory

__all__ = [
    "CATEGORIES",
    "Author",
    "Case",
    "CaseEvent",
    "ConfigError",
    "CrawlTask",
    "DeadLetter",
    "Engagement",
    "Geo",
    "Lead",
    "NotBuiltError",
    "PermanentError",
    "PlaceHints",
    "Post",
    "Record",
    "RecordError",
    "Settings",
    "Stage",
    "StageContext",
    "StageFactory",
    "TransientError",
    "Verdict",
    "XianbanError",
    "load_settings",
    "stable_id",
    "utcnow",
]
