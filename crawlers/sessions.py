"""Login sessions (accounts) of a source: rotation, expiry and ban quarantine.

A login-walled platform is crawled with a pool of accounts. Before each task the
crawler takes the next live account round-robin and asks the platform whether its
cookie is still logged in (``SessionAdapter.check_session``), so an expired login is
marked once instead of meeting the login wall on every request. An account the platform
refuses while still calling it logged in is banned: logging in again does not help, so it
is quarantined and the pool rotates past it.

The pool is a JSON file per source under ``<data_dir>/sessions/`` that ops refresh
(``add`` after a QR-code login) and that every crawler of the source reads; the Kafka key
keeps one crawler per source, so the file has one writer at a time.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from xianban.errors import ConfigError
from xianban.records import utcnow

AccountState = Literal["live", "expired", "banned"]


class Account(BaseModel):
    token: str = Field(min_length=1)
    cookie: str = Field("web_session", description="the cookie the token goes in")
    state: AccountState = "live"
    added_at: datetime = Field(default_factory=utcnow)
    retired_at: datetime | None = None
    uses: int = 0


class PoolFile(BaseModel):
    accounts: list[Account] = Field(default_factory=list)
    turn: int = 0


class SessionPool:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_source(cls, data_dir: Path, source: str) -> SessionPool:
        return cls(data_dir / "sessions" / f"{source}.json")

    def _load(self) -> PoolFile:
        try:
            return PoolFile.model_validate_json(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return PoolFile()
        except ValidationError as exc:
            raise ConfigError(f"{self.path}: not a session pool: {exc}") from None

    def _save(self, pool: PoolFile) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(pool.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(self.path)

    def accounts(self) -> list[Account]:
        return self._load().accounts

    def add(self, token: str, *, cookie: str = "web_session") -> Account:
        """A fresh login (ops' QR scan, or a cookie pasted in); replaces a retired copy."""
        pool = self._load()
        account = Account(token=token, cookie=cookie)
        pool.accounts = [a for a in pool.accounts if a.token != token] + [account]
        self._save(pool)
        return account

    def next(self) -> Account | None:
        """The next live account, round-robin, counted as used; None when none is live."""
        pool = self._load()
        live = [a for a in pool.accounts if a.state == "live"]
        if not live:
            return None
        account = live[pool.turn % len(live)]
        account.uses += 1
        pool.turn += 1
        self._save(pool)
        return account

    def retire(self, token: str, state: AccountState) -> None:
        pool = self._load()
        for account in pool.accounts:
            if account.token == token:
                account.state = state
                account.retired_at = utcnow()
        self._save(pool)

    def has_live(self) -> bool:
        return any(a.state == "live" for a in self._load().accounts)
