"""What a social worker says about a recording, checked before anything is stored.

The case reference, the visit type (one recording is allowed of), a calendar date
not in the future, each participant with a name or description and a role, and
consent to record confirmed for each: how it was given and, where given on the
person's behalf, by whom. The checked details are cleaned of control characters,
and each participant is stored with their consent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from policies import BadInput, Forbidden
from webapp import db
from webapp.context import Services
from webapp.services.auth import CurrentUser
from webapp.services.visit_language import VisitLanguage
from webapp.text import clean_line, clean_tree

__all__ = [
    "CONSENT_METHODS",
    "MAX_PARTICIPANTS",
    "VISIT_TYPE_MISSING",
    "UploadDetails",
    "check_details",
    "cleaned",
    "consent_of",
    "participant_records",
    "recording_allowed",
]

#: Most participants one recording may list (a large meeting), and the longest name
#: or description and role of each.
MAX_PARTICIPANTS = 30
MAX_PARTICIPANT_NAME = 120
MAX_PARTICIPANT_ROLE = 80

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: How consent to record can be given, as recorded with each participant.
CONSENT_METHODS = {
    "verbal": "Verbal consent from the person",
    "written": "Written consent from the person",
    "lpa": "Lasting power of attorney (health and welfare)",
    "best_interests": "Best interests decision (the person lacks capacity to consent)",
}
#: Said when no visit type was chosen: none is chosen for the worker.
VISIT_TYPE_MISSING = (
    "Choose the visit type: the note is drafted in that visit's template, so it cannot be guessed."
)
# Consent given on the person's behalf must name who gave it or made the decision.
_ON_BEHALF = ("lpa", "best_interests")


@dataclass(frozen=True)
class UploadDetails:
    """What the social worker says about a recording.

    Attributes:
        case_reference: The person's case reference.
        visit_type: Template name.
        visit_date: ISO date (``YYYY-MM-DD``).
        participants: ``(name or description, role)`` for each person present.
        consent: Whether consent was confirmed, one per participant.
        team_id: The team the record belongs to; the user's only team if ``None``.
        consent_methods: How each participant's consent was given (a key of
            :data:`CONSENT_METHODS`); ``"verbal"`` for each when empty.
        consent_given_by: Who gave each consent when not the participant (an attorney,
            the best-interests decision maker); empty strings when it was them.
        language: The language spoken and any interpreter; English without one by
            default.
    """

    case_reference: str
    visit_type: str
    visit_date: str
    participants: tuple[tuple[str, str], ...]
    consent: tuple[bool, ...]
    team_id: int | None = None
    consent_methods: tuple[str, ...] = ()
    consent_given_by: tuple[str, ...] = ()
    language: VisitLanguage = VisitLanguage()


def recording_allowed(svc: Services, visit_type: str) -> tuple[bool, str]:
    """Whether policy allows recording this visit type, and if not, why."""
    template = svc.templates.get(visit_type)
    if visit_type in svc.policy.forbidden_visit_types or (
        template is not None and not getattr(template, "recording_allowed", True)
    ):
        return False, svc.policy.forbidden_reason
    return True, ""


def check_details(svc: Services, user: CurrentUser, details: UploadDetails) -> int:
    """Check the details of an upload.

    Returns:
        The id of the team the record belongs to.

    Raises:
        Forbidden: Policy forbids recording this visit type.
        BadInput: A detail is missing or wrong.
    """
    reference = details.case_reference.strip()
    if not reference or len(reference) > 64:
        raise BadInput("Enter the person's case reference (up to 64 characters).")
    if not details.visit_type.strip():
        raise BadInput(VISIT_TYPE_MISSING)
    if details.visit_type not in svc.templates:
        raise BadInput("Choose a visit type from the list.")
    allowed, reason = recording_allowed(svc, details.visit_type)
    if not allowed:
        raise Forbidden(reason)
    # date.fromisoformat also takes week dates ("2026W113") and other ISO forms: only
    # a calendar date written as YYYY-MM-DD is stored.
    try:
        if not _ISO_DATE.fullmatch(details.visit_date):
            raise ValueError(details.visit_date)
        visit = date.fromisoformat(details.visit_date)
    except ValueError:
        raise BadInput("Enter the visit date as a date, for example 2026-03-14.") from None
    if visit > db.utcnow().date() + timedelta(days=1):
        raise BadInput("The visit date is in the future; check it.")
    if not details.participants:
        raise BadInput("Add at least one participant, with their role.")
    if len(details.participants) > MAX_PARTICIPANTS:
        raise BadInput(
            f"A recording can list at most {MAX_PARTICIPANTS} participants; list the people "
            "who speak, and describe any others in the note."
        )
    if len(details.consent) != len(details.participants):
        raise BadInput("Confirm consent for each participant.")
    for name, role in details.participants:
        if len(name) > MAX_PARTICIPANT_NAME or len(role) > MAX_PARTICIPANT_ROLE:
            raise BadInput(
                f"A participant's name can be at most {MAX_PARTICIPANT_NAME} characters "
                f"long, and their role at most {MAX_PARTICIPANT_ROLE}."
            )
    for (name, role), consented in zip(details.participants, details.consent, strict=True):
        if not name.strip() or not role.strip():
            raise BadInput("Each participant needs a name (or description) and a role.")
        if not consented:
            raise BadInput(
                f"Consent to record has not been confirmed for {name.strip()} "
                f"({role.strip()}). Without it the recording cannot be kept."
            )
    _check_consent_methods(details)
    if details.team_id is None:
        if len(user.team_ids) != 1:
            raise BadInput("Choose which of your teams this record belongs to.")
        return next(iter(user.team_ids))
    if details.team_id not in user.team_ids:
        raise BadInput("Choose one of your own teams.")
    return details.team_id


def consent_of(details: UploadDetails) -> list[tuple[str, str]]:
    """How each participant's consent was given, and by whom where not by them."""
    count = len(details.participants)
    methods = details.consent_methods or ("verbal",) * count
    given_by = details.consent_given_by or ("",) * count
    return [(m.strip(), b.strip()) for m, b in zip(methods, given_by, strict=True)]


def _check_consent_methods(details: UploadDetails) -> None:
    count = len(details.participants)
    if details.consent_methods and len(details.consent_methods) != count:
        raise BadInput("Say how consent was given for each participant.")
    if details.consent_given_by and len(details.consent_given_by) != count:
        raise BadInput("Say who gave consent for each participant, where not the person.")
    for (name, _role), (method, given_by) in zip(
        details.participants, consent_of(details), strict=True
    ):
        if method not in CONSENT_METHODS:
            raise BadInput(
                f"Choose how consent was given for {name.strip()}: verbally, in writing, by "
                "lasting power of attorney, or as a best interests decision."
            )
        if method in _ON_BEHALF and not given_by:
            raise BadInput(
                f"Consent for {name.strip()} was given on their behalf: enter the name of the "
                "attorney or of the person who made the best interests decision."
            )
        if len(given_by) > 120:
            raise BadInput("A name of who gave consent can be at most 120 characters long.")


def cleaned(details: UploadDetails) -> UploadDetails:
    """The details with every line of text cleaned."""
    return replace(
        details,
        case_reference=clean_line(details.case_reference),
        visit_type=clean_line(details.visit_type),
        visit_date=clean_line(details.visit_date),
        participants=clean_tree(details.participants, line=True),
        consent_methods=clean_tree(details.consent_methods, line=True),
        consent_given_by=clean_tree(details.consent_given_by, line=True),
    )


def participant_records(user: CurrentUser, details: UploadDetails) -> list[dict[str, Any]]:
    """Each participant with their consent, as stored (sealed) on the recording."""
    consent_at = db.utcnow().isoformat(timespec="seconds")
    return [
        {
            "name": n.strip(),
            "role": r.strip(),
            "consent": {
                "given": True,
                "method": method,
                "given_by": given_by or n.strip(),
                "recorded_by": user.display_name,
                "recorded_at": consent_at,
            },
        }
        for (n, r), (method, given_by) in zip(
            details.participants, consent_of(details), strict=True
        )
    ]
