"""The spine's error hierarchy; stages translate their own failures into these at the boundary.

XianbanError
├── RecordError        (xianban.records) a record failed validation: dead-letter it
├── PermanentError     handling can never succeed for this record: dead-letter it
├── TransientError     try again later (timeouts, a service briefly down): retry with backoff
├── ConfigError        settings or a config file is wrong: fail at start-up, say which
└── NotBuiltError      a CLI command whose stage does not exist yet
"""

from __future__ import annotations


class XianbanError(Exception):
    """Base of every error the system raises on purpose."""


class PermanentError(XianbanError):
    """This record can never be handled; retrying is pointless."""


class TransientError(XianbanError):
    """Handling failed for a reason that may pass (timeout, 5xx, connection refused)."""


class ConfigError(XianbanError):
    """A setting or config file is invalid; the message names it and says what is expected."""


class NotBuiltError(XianbanError):
    """The requested capability is not built yet."""
