"""Login sessions of login-walled platforms, including the QR-code login ops complete.

A session is a cookie token that stops working when it expires — after a set number of
requests, when ops expire it through the admin API, or when the ``login_expired`` fault
hits a request carrying it. Expiry is permanent, so a crawler that keeps presenting the
same cookie keeps meeting the login wall until it logs in again: the loop the crawl
runtime must detect and mark rather than retry.

A banned account is different from an expired one: its cookie still identifies a logged-in
user, but the platform refuses to serve it, so a session pool must quarantine the account
and rotate to another instead of logging in again.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

QR_WAITING, QR_CONFIRMED = 0, 2  # the app's codes; 1 (scanned, not confirmed) is skipped


@dataclass
class Session:
    token: str
    platform: str
    user_id: str
    nickname: str
    remaining: int | None
    expired: bool = False
    banned: bool = False


@dataclass
class QrLogin:
    qr_id: str
    code: str
    platform: str
    status: int = QR_WAITING
    session: Session | None = None


class SessionStore:
    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.qr_logins: dict[str, QrLogin] = {}
        self._users = itertools.count(1)

    def issue(self, platform: str, *, lifetime_requests: int | None = None) -> Session:
        n = next(self._users)
        session = Session(
            token=secrets.token_hex(16),
            platform=platform,
            user_id=f"5f{n:022x}",
            nickname=f"运营账号{n}",
            remaining=lifetime_requests,
        )
        self.sessions[session.token] = session
        return session

    def find(self, platform: str, token: str | None) -> Session | None:
        """The live session behind a cookie, or None; does not count as a use."""
        session = self.sessions.get(token or "")
        if session is None or session.platform != platform or session.expired:
            return None
        return session

    def use(self, platform: str, token: str | None) -> Session | None:
        """The live session behind a cookie, counting one request against its lifetime."""
        session = self.find(platform, token)
        if session is None:
            return None
        if session.remaining is not None:
            if session.remaining <= 0:
                session.expired = True
                return None
            session.remaining -= 1
        return session

    def expire(self, platform: str, token: str | None = None) -> int:
        hit = [
            s
            for s in self.sessions.values()
            if s.platform == platform and not s.expired and token in (None, s.token)
        ]
        for session in hit:
            session.expired = True
        return len(hit)

    def ban(self, platform: str, token: str) -> bool:
        """Ban one account: its session stays logged in but every call is refused."""
        session = self.sessions.get(token)
        if session is None or session.platform != platform:
            return False
        session.banned = True
        return True

    def start_qr(self, platform: str) -> QrLogin:
        login = QrLogin(
            qr_id=secrets.token_hex(8), code=f"{secrets.randbelow(10**6):06d}", platform=platform
        )
        self.qr_logins[login.qr_id] = login
        return login

    def scan(self, qr_id: str) -> QrLogin:
        """What the phone app does when ops scan and confirm: the login completes."""
        login = self.qr_logins[qr_id]
        if login.session is None:
            login.session = self.issue(login.platform)
        login.status = QR_CONFIRMED
        return login
