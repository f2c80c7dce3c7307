"""The spine's error hierarchy; stages translate their own failures into these at the boundary.

XianbanError
├── RecordError        (xianban.records) a record failed validation: dead-letter it
├── PermanentError     handling can never succeed for this record: dead-letter it
├── TransientError     try again later (timeouts, a service briefly down): retry with backoff
│   ├── DatabaseUnavailableError  (also an UnavailableError) the database cannot be reached
│   └── BrokerUnavailableError    (also an UnavailableError) Kafka cannot be reached
├── ConfigError        settings or a config file is wrong: fail at start-up, say which
├── InputError         a command's input file cannot be read at all (no such file, a folder)
├── UnavailableError   something a command needs is not there: a port, a data directory
│   └── PortInUseError (xianban.asgi_server) the address to listen on is taken
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


class InputError(XianbanError):
    """The input as a whole cannot be read: no such file, a folder, no permission, empty
    where records are required (the CLI exits 2). A bad line is not this: it gets its own
    error line and the run goes on."""


class UnavailableError(XianbanError):
    """Something the command needs is missing or unreachable (the CLI exits 3)."""


class PortInUseError(UnavailableError):
    """The address a server was to listen on cannot be bound."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host, self.port, self.reason = host, port, reason
        super().__init__(f"cannot listen on {host}:{port}: {reason}")


class NotBuiltError(XianbanError):
    """The requested capability is not built yet."""


class DatabaseUnavailableError(TransientError, UnavailableError):
    """The database cannot be reached: a stage retries, a command says so and exits 3."""


class BrokerUnavailableError(TransientError, UnavailableError):
    """The Kafka brokers cannot be reached: a stage retries, a command exits 3."""
