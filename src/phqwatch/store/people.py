"""Organisations, people, care-team assignments and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from phqwatch.errors import InputError, NotFoundError
from phqwatch.store.tables import ROLES, ApiKey, CareTeam, Organisation, Person, utcnow

API_KEY_PREFIX = "phq_"


def create_organisation(s: Session, slug: str, name: str) -> Organisation:
    """Add an organisation (a clinical team or tenant)."""
    org = Organisation(slug=slug, name=name)
    s.add(org)
    s.flush()
    return org


def organisation_by_slug(s: Session, slug: str) -> Organisation | None:
    return s.scalar(select(Organisation).where(Organisation.slug == slug))


def create_person(
    s: Session,
    *,
    organisation_id: int,
    role: str,
    username: str | None = None,
    password_hash: str | None = None,
    display_name: str = "",
    external_id: str | None = None,
    linked_patient_id: int | None = None,
) -> Person:
    """Add a person. Family members must be linked to a patient of the same organisation."""
    if role not in ROLES:
        raise InputError(f"unknown role '{role}'; expected one of {', '.join(ROLES)}", field="role")
    if role == "family":
        patient = s.get(Person, linked_patient_id) if linked_patient_id is not None else None
        if patient is None or patient.role != "patient" or patient.organisation_id != organisation_id:
            raise InputError(
                "a family member needs linked_patient_id of a patient in the same organisation",
                field="linked_patient_id",
                fix="Create the patient first and pass its id.",
            )
    elif linked_patient_id is not None:
        raise InputError("only family members are linked to a patient", field="linked_patient_id")
    if username is not None and s.scalar(select(Person.id).where(Person.username == username)) is not None:
        raise InputError(f"username '{username}' is taken", field="username", fix="Choose another username.")
    if external_id is not None and (
        s.scalar(select(Person.id).where(Person.organisation_id == organisation_id, Person.external_id == external_id))
        is not None
    ):
        raise InputError(f"external_id '{external_id}' is already used in this organisation", field="external_id")
    person = Person(
        organisation_id=organisation_id,
        role=role,
        username=username,
        password_hash=password_hash,
        display_name=display_name,
        external_id=external_id,
        linked_patient_id=linked_patient_id,
        active=True,
    )
    s.add(person)
    s.flush()
    return person


def get_person(s: Session, person_id: int, *, organisation_id: int | None = None, role: str | None = None) -> Person:
    """A person by id (optionally required to be in an organisation and have a role), else NotFoundError."""
    p = s.get(Person, person_id)
    if (
        p is None
        or (organisation_id is not None and p.organisation_id != organisation_id)
        or (role is not None and p.role != role)
    ):
        what = role or "person"
        raise NotFoundError(f"No {what} with id {person_id}.", fix="Check the id (GET /api/v1/people lists them).")
    return p


def revoke_sessions(s: Session, person_id: int) -> Person:
    """Invalidate every bearer token and session cookie issued to the person so far (logout everywhere)."""
    p = get_person(s, person_id)
    p.session_version = (p.session_version or 0) + 1
    s.flush()
    return p


def set_password(s: Session, person_id: int, password_hash: str) -> Person:
    """Store a new password hash; every earlier token and session of the person stops working."""
    p = revoke_sessions(s, person_id)
    p.password_hash = password_hash
    return p


def set_active(s: Session, person_id: int, active: bool) -> Person:
    """Enable or disable an account; either way every earlier token and session stops working."""
    p = revoke_sessions(s, person_id)
    p.active = active
    return p


def person_by_username(s: Session, username: str) -> Person | None:
    return s.scalar(select(Person).where(Person.username == username))


def people_by_external_ids(s: Session, organisation_id: int, external_ids: Iterable[str]) -> dict[str, Person]:
    """external_id -> Person for the ids that exist in the organisation."""
    ids = sorted(set(external_ids))
    out: dict[str, Person] = {}
    for i in range(0, len(ids), 500):
        rows = s.scalars(
            select(Person).where(Person.organisation_id == organisation_id, Person.external_id.in_(ids[i : i + 500]))
        )
        out.update({p.external_id: p for p in rows if p.external_id is not None})
    return out


def list_people(
    s: Session, organisation_id: int, *, role: str | None = None, ids: Iterable[int] | None = None
) -> list[Person]:
    q = select(Person).where(Person.organisation_id == organisation_id)
    if role is not None:
        q = q.where(Person.role == role)
    if ids is not None:
        q = q.where(Person.id.in_(list(ids)))
    return list(s.scalars(q.order_by(Person.id)))


def assign_clinician(s: Session, clinician_id: int, patient_id: int) -> CareTeam:
    """Put a clinician on a patient's care team (idempotent)."""
    clinician = get_person(s, clinician_id, role="clinician")
    get_person(s, patient_id, organisation_id=clinician.organisation_id, role="patient")
    row = s.scalar(select(CareTeam).where(CareTeam.clinician_id == clinician_id, CareTeam.patient_id == patient_id))
    if row is None:
        row = CareTeam(clinician_id=clinician_id, patient_id=patient_id)
        s.add(row)
        s.flush()
    return row


def unassign_clinician(s: Session, clinician_id: int, patient_id: int) -> bool:
    row = s.scalar(select(CareTeam).where(CareTeam.clinician_id == clinician_id, CareTeam.patient_id == patient_id))
    if row is None:
        return False
    s.delete(row)
    s.flush()
    return True


def is_assigned(s: Session, clinician_id: int, patient_id: int) -> bool:
    q = select(CareTeam.id).where(CareTeam.clinician_id == clinician_id, CareTeam.patient_id == patient_id)
    return s.scalar(q) is not None


def assigned_patient_ids(s: Session, clinician_id: int) -> list[int]:
    return list(s.scalars(select(CareTeam.patient_id).where(CareTeam.clinician_id == clinician_id)))


def care_team_ids(s: Session, patient_id: int) -> list[int]:
    """Clinicians assigned to a patient."""
    return list(s.scalars(select(CareTeam.clinician_id).where(CareTeam.patient_id == patient_id)))


def _hash_secret(secret: str) -> str:
    # API keys are 256-bit random: a fast hash is safe (argon2 would cost ~50 ms per ingest request).
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_api_key(s: Session, person_id: int, name: str = "") -> tuple[ApiKey, str]:
    """A new API key for a service account; returns (row, the key). The key is shown once, never stored."""
    person = get_person(s, person_id)
    if person.role != "service":
        raise InputError("API keys are for service accounts only", field="person_id", fix="Create a 'service' person.")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        organisation_id=person.organisation_id,
        person_id=person.id,
        prefix=prefix,
        key_hash=_hash_secret(secret),
        name=name,
    )
    s.add(row)
    s.flush()
    return row, f"{API_KEY_PREFIX}{prefix}.{secret}"


def verify_api_key(s: Session, presented: str) -> Person | None:
    """The active service account of a presented API key, or None."""
    if not presented.isascii() or not presented.startswith(API_KEY_PREFIX) or "." not in presented:
        return None
    prefix, _, secret = presented[len(API_KEY_PREFIX) :].partition(".")
    row = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash_secret(secret)):
        return None
    person = s.get(Person, row.person_id)
    return person if person is not None and person.active else None


def revoke_api_key(s: Session, key_id: int) -> None:
    row = s.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"No API key with id {key_id}.")
    row.revoked_at = utcnow()
