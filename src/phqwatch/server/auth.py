"""Authentication and authorisation: argon2 passwords, signed bearer tokens, API keys, cookie sessions,
and the access rules for each role (sign-in rate limits: `server.rate_limits`; client address:
`server.client_address`).

Roles: admin (everything in their organisation); clinician (only assigned patients); patient (own data);
family (only released reports and care advice for the linked patient, never conversations); service
(ingestion only, with an API key).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from phqwatch.errors import NotFoundError, PermissionDeniedError, PhqwatchError
from phqwatch.server.client_address import client_address
from phqwatch.server.rate_limits import Attempt
from phqwatch.server.rate_limits import RateLimitedError as RateLimitedError  # re-exported
from phqwatch.store import people
from phqwatch.store.tables import Person

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from itsdangerous import URLSafeTimedSerializer

TOKEN_SALT = "phqwatch-access-token"
SESSION_COOKIE = "phqwatch_session"
CSRF_HEADER = "X-CSRF-Token"
#: Access scopes for a patient's data. "clinical": estimates, evidence, conversations, alerts, export.
#: "released": only what a clinician released (reports, care advice): the family's scope.
Scope = Literal["clinical", "released", "ingest"]


class AuthError(PhqwatchError):
    """Missing or invalid credentials (HTTP 401)."""


@dataclass(frozen=True)
class Denial:
    """What a refused request concerned, for its audit row; attached to the error as `.denial`.

    `organisation_id` is the organisation whose audit log gets the row: the patient's own (a probe of
    another organisation's patient is recorded where that patient's record is kept)."""

    patient_id: int | None
    organisation_id: int | None
    reason: str


def deny(exc: PhqwatchError, *, patient_id: int | None, organisation_id: int | None, reason: str) -> PhqwatchError:
    """Mark `exc` as a denial about this patient (audited as outcome "denied" where it is answered)."""
    exc.denial = Denial(patient_id, organisation_id, reason)
    return exc


# ---- passwords -------------------------------------------------------------------------------------
_hasher: PasswordHasher | None = None


def _ph() -> PasswordHasher:
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    """argon2id hash of a password."""
    return _ph().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if not stored_hash:
        _ph().hash(password)  # same cost either way: no user enumeration by timing
        return False
    try:
        return _ph().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ---- tokens ----------------------------------------------------------------------------------------
def _serializer(secret: str) -> URLSafeTimedSerializer:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret, salt=TOKEN_SALT)


def issue_token(secret: str, person: Person) -> str:
    """A signed, timestamped bearer token for a person (expiry and revocation are checked on use)."""
    claims = {"sub": person.id, "role": person.role, "org": person.organisation_id, "ver": person.session_version or 0}
    return _serializer(secret).dumps(claims)


def read_token(secret: str, token: str, max_age_s: int) -> dict:
    from itsdangerous import BadSignature, SignatureExpired

    try:
        return _serializer(secret).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise AuthError("The token has expired.", fix="Log in again (POST /api/v1/auth/token).") from None
    except BadSignature:
        raise AuthError("The token is not valid.", fix="Log in again (POST /api/v1/auth/token).") from None


def token_person(s: Session, claims: dict) -> Person | None:
    """The person behind verified token claims, or None when the account is gone, disabled, changed role,
    or revoked the token (logout, password change or disabling bump `session_version`)."""
    try:
        person = s.get(Person, int(claims.get("sub", 0)))
    except (TypeError, ValueError, OverflowError):
        return None
    if person is None or not person.active or person.role != claims.get("role"):
        return None
    if claims.get("ver", 0) != (person.session_version or 0):
        return None
    return person


def check_same_origin(request: Request) -> None:
    """Refuse a browser request sent from another site (login CSRF): an `Origin`, or failing that a
    `Referer`, must name this server's own host (and port), as in the `Host` header. The scheme is not
    compared, so a proxy that ends TLS needs no extra setup. Clients that send neither (curl, apps) pass;
    a browser always sends `Origin` on a cross-site form post."""
    from urllib.parse import urlsplit

    sent = request.headers.get("origin")
    if sent is None:
        sent = request.headers.get("referer")
    if sent is None:
        return
    own = urlsplit(str(request.base_url))
    got = urlsplit(sent.strip())
    if not got.netloc or got.netloc.lower() != own.netloc.lower():
        raise PermissionDeniedError(
            "Cross-site login refused: the request did not come from this server's own pages.",
            fix="Sign in from this server's login page.",
        )


def csrf_token(secret: str, session_token: str) -> str:
    """The CSRF token bound to a session cookie (HMAC of the cookie); pages put it in every form."""
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


# ---- the caller --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """Who is calling: a person, how they authenticated, and where from."""

    person_id: int
    organisation_id: int
    role: str
    username: str | None
    linked_patient_id: int | None
    via: Literal["token", "api_key", "cookie"]
    ip: str | None = None
    session_token: str | None = None

    @classmethod
    def of(
        cls, p: Person, via: Literal["token", "api_key", "cookie"], ip: str | None, session: str | None = None
    ) -> Principal:
        return cls(p.id, p.organisation_id, p.role, p.username, p.linked_patient_id, via, ip, session)


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def client_ip(request: Request) -> str:
    """The client's address: the peer, or what a trusted proxy says (see `server.client_address`)."""
    return client_address(request)


def _refuse_api_key(request: Request, ip: str) -> AuthError:
    """Throttle and audit a rejected API key; the AuthError to raise (RateLimitedError when over the limit)."""
    limiter = request.app.state.ctx.limiter
    attempt = Attempt("api_key", ip)
    limiter.check(attempt)
    limiter.record(attempt, None, ok=False)
    return AuthError("The API key is not valid or was revoked.", fix="Ask an admin for a new key.")


def authenticate(request: Request, bearer: str | None = Depends(oauth2_scheme)) -> Principal:
    """FastAPI dependency: the caller from `Authorization: Bearer <token>`, `X-API-Key`, or the session
    cookie (cookie callers must send the CSRF token in `X-CSRF-Token` on unsafe methods)."""
    ctx = request.app.state.ctx
    secret = ctx.settings.secret_key.get_secret_value()
    ip = client_ip(request)
    api_key = request.headers.get("x-api-key")
    if bearer is None and api_key is None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("apikey "):
            api_key = auth[7:].strip()
    if api_key:
        with ctx.db.read() as s:
            person = people.verify_api_key(s, api_key)
        if person is None:
            raise _refuse_api_key(request, ip)
        request.state.principal = principal = Principal.of(person, "api_key", ip)
        return principal
    with ctx.db.read() as s:
        via: Literal["token", "cookie"] = "token"
        token = bearer
        if token is None:
            token = request.cookies.get(SESSION_COOKIE)
            via = "cookie"
        if not token:
            raise AuthError(
                "Not authenticated.",
                fix="Send `Authorization: Bearer <token>` (POST /api/v1/auth/token) or `X-API-Key: <key>`.",
            )
        claims = read_token(secret, token, ctx.settings.token_ttl_minutes * 60)
        person = token_person(s, claims)
        if person is None:
            raise AuthError("The token was revoked or its account is no longer active.", fix="Log in again.")
    principal = Principal.of(person, via, ip, token if via == "cookie" else None)
    request.state.principal = principal  # the actor of a denial's audit row
    if via == "cookie" and request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(CSRF_HEADER.lower())
        if not sent or not hmac.compare_digest(sent, csrf_token(secret, token)):
            raise PermissionDeniedError(
                "Missing or wrong CSRF token.", fix=f"Send the page's CSRF token in the {CSRF_HEADER} header."
            )
    return principal


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """FastAPI dependency factory: the caller must have one of `roles` (else 403)."""

    def dep(principal: Principal = Depends(authenticate)) -> Principal:
        if principal.role not in roles:
            raise PermissionDeniedError(
                f"The '{principal.role}' role may not do this; allowed: {', '.join(roles)}.",
                fix="Use an account with one of those roles.",
            )
        return principal

    return dep


def check_patient_access(s: Session, principal: Principal, patient_id: int, scope: Scope = "clinical") -> Person:
    """The patient, if `principal` may access their data in `scope`; else NotFoundError / PermissionDeniedError.

    - admin: any patient of their organisation (clinical and released);
    - clinician: patients on whose care team they are (clinical and released);
    - patient: themself (clinical and released);
    - family: the linked patient, `released` scope only (never conversations or raw estimates);
    - service: `ingest` scope only, patients of their organisation.
    """
    patient = s.get(Person, patient_id)
    if patient is None or patient.role != "patient" or patient.organisation_id != principal.organisation_id:
        missing = NotFoundError(f"No patient with id {patient_id}.", fix="Check the id (GET /api/v1/patients).")
        if patient is not None and patient.role == "patient":  # another organisation's patient, hidden
            deny(missing, patient_id=patient.id, organisation_id=patient.organisation_id, reason="other_organisation")
        raise missing
    role = principal.role
    allowed = False
    if scope == "ingest":
        allowed = role in ("service", "admin", "clinician") and (
            role != "clinician" or people.is_assigned(s, principal.person_id, patient_id)
        )
    elif role == "admin":
        allowed = True
    elif role == "clinician":
        allowed = people.is_assigned(s, principal.person_id, patient_id)
    elif role == "patient":
        allowed = principal.person_id == patient_id
    elif role == "family":
        allowed = scope == "released" and principal.linked_patient_id == patient_id
    if not allowed:
        raise deny(
            PermissionDeniedError(
                f"The '{role}' role may not access this patient's {scope} data.",
                fix="Clinicians see only assigned patients; family members see only released reports.",
            ),
            patient_id=patient.id,
            organisation_id=patient.organisation_id,
            reason=f"no_{scope}_access",
        )
    return patient


def visible_patient_ids(s: Session, principal: Principal) -> list[int] | None:
    """Patients whose clinical data the caller may list (None: all of the organisation, for admins)."""
    if principal.role == "admin":
        return None
    if principal.role == "clinician":
        return people.assigned_patient_ids(s, principal.person_id)
    if principal.role == "patient":
        return [principal.person_id]
    return []
