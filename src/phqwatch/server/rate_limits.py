"""Sign-in rate limits, counted in the database so they hold across every server process.

Each password check (login, password change) and each rejected API key leaves an audit row
(`action="login"`, outcome allowed or denied, the real client address from `client_address`). The limits
count the denied rows in a sliding window (`Settings.login_window_s`):

- per account: `login_failures_per_account` failed password checks for one username, from any address;
- per address: `login_failures_per_address` failed password checks from one client address, any username;
- API keys: `login_failures_per_address` rejected keys from one client address.

While a limit is reached the attempt is refused before the password is looked at (HTTP 429 with
`Retry-After`), and the refusal is audited too (resource "rate_limit"); refusals are not counted, so a
lock ends one window after the failures that caused it. The account is identified by a keyed hash of the
lower-cased username (the row's resource_id): unknown usernames are limited the same way as real ones,
and a username typed into the wrong field is never stored in clear. A valid API key always works (a
service sharing an address with an attacker keeps ingesting); only rejected keys are throttled.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from phqwatch.config import Settings
from phqwatch.errors import PhqwatchError
from phqwatch.store import Database, audit
from phqwatch.store.tables import Person, utcnow

Kind = Literal["password", "api_key"]


class RateLimitedError(PhqwatchError):
    """Too many failed sign-in attempts (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, *, retry_after: int, fix: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, fix=fix)


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt: which account (username as typed; None for API keys), from which address."""

    kind: Kind
    ip: str
    username: str | None = None


def _retry_after(times: list[datetime], limit: int, window: timedelta, now: datetime) -> int | None:
    """Seconds until fewer than `limit` of `times` remain in the window; None when under the limit now."""
    if len(times) < limit:
        return None
    oldest_that_matters = times[len(times) - limit]
    return max(1, math.ceil((oldest_that_matters + window - now).total_seconds()))


class LoginLimiter:
    """Checks and records sign-in attempts against the audit log of `db`."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._key = hmac.new(
            settings.secret_key.get_secret_value().encode(), b"phqwatch-login-account", hashlib.sha256
        ).digest()

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.settings.login_window_s)

    def account_key(self, username: str) -> str:
        """A keyed hash of the normalised username (64 hex characters)."""
        return hmac.new(self._key, username.strip().lower().encode(), hashlib.sha256).hexdigest()

    def check(self, attempt: Attempt) -> None:
        """Raise RateLimitedError (and audit the refusal) when a limit is reached for this attempt."""
        st = self.settings
        now = utcnow()
        since = now - self.window
        with self.db.read() as s:
            by_address = audit.recent_failures(s, resource=attempt.kind, since=since, ip=attempt.ip)
            by_account = []
            if attempt.username is not None:
                key = self.account_key(attempt.username)
                by_account = audit.recent_failures(s, resource=attempt.kind, since=since, account_key=key)
        account_wait = _retry_after(by_account, st.login_failures_per_account, self.window, now)
        address_wait = _retry_after(by_address, st.login_failures_per_address, self.window, now)
        if account_wait is None and address_wait is None:
            return
        which = "account" if account_wait is not None else "address"
        wait = max(w for w in (account_wait, address_wait) if w is not None)
        self._audit(attempt, None, "denied", resource="rate_limit", details={"on": attempt.kind, "limit": which})
        what = "this account" if which == "account" else "this address"
        limit = st.login_failures_per_account if which == "account" else st.login_failures_per_address
        raise RateLimitedError(
            f"Too many failed sign-in attempts for {what} ({limit} in {st.login_window_s} seconds).",
            retry_after=wait,
            fix=f"Wait {wait} seconds before trying again.",
        )

    def record(self, attempt: Attempt, person: Person | None, ok: bool) -> None:
        """Audit the outcome of a checked attempt (a denied one counts toward the limits)."""
        self._audit(attempt, person, "allowed" if ok else "denied", resource=attempt.kind, details=None)

    def _audit(
        self, attempt: Attempt, person: Person | None, outcome: str, *, resource: str, details: dict | None
    ) -> None:
        with self.db.write(durable=False) as s:
            audit.record(
                s,
                actor_id=person.id if person is not None else None,
                actor_role=person.role if person is not None else "anonymous",
                action="login",
                resource=resource,
                resource_id=None if attempt.username is None else self.account_key(attempt.username),
                organisation_id=person.organisation_id if person is not None else None,
                ip=attempt.ip,
                details=details,
                outcome=outcome,
            )
