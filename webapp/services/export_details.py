"""What an exported note is called and what its heading says.

A case-management system files an attachment by its name and a reader checks its
heading, so both say whose note it is, of what visit and when: the file
``AC-2024-0117 home visit 2026-12-01.pdf``, and a heading with the case reference,
visit type and date, who was present (and, for a visit in another language, the
language and any interpreter) and how each consented to the recording, who
wrote and who approved the note and when (in UK time), and the approved text's hash.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from webapp.dates import written_date, written_time, zone_name
from webapp.services.exports import HASH_LABEL, NoteMeta
from webapp.text import clean_line

__all__ = [
    "ExportHeading",
    "Present",
    "content_disposition",
    "export_filename",
    "present_from",
    "visit_type_words",
]

#: Longest case reference part of a file name (file systems allow 255 bytes in all).
_MAX_NAME_PART = 60
_UNSAFE = re.compile(r"[^\w.\- ]+")
_CONSENT_WORDS = {
    "verbal": "verbal consent",
    "written": "written consent",
    "lpa": "lasting power of attorney (health and welfare)",
    "best_interests": "best interests decision",
}


@dataclass(frozen=True)
class Present:
    """Someone present at the visit, as the recording lists them.

    Attributes:
        name: Their name or description.
        role: Their role at the visit.
        consent: How consent to record was given, in words; ``""`` when not recorded.
    """

    name: str
    role: str
    consent: str = ""


@dataclass(frozen=True)
class ExportHeading:
    """The heading of an exported note.

    Attributes:
        case_reference: The person's case reference.
        visit_type: The visit type in words (``home visit``).
        visit_date: ISO date of the visit.
        present: Who was present.
        author: Display name of who recorded the visit.
        approver: Display name of who approved the note.
        approved_at: ISO 8601 time (UTC) of approval.
        sha256: Hash of the approved text.
        language: ``(label, words)`` lines on the language spoken and the interpreter
            (``NoteMeta.language``); none for an English visit without one.
    """

    case_reference: str
    visit_type: str
    visit_date: str
    present: tuple[Present, ...]
    author: str
    approver: str
    approved_at: str
    sha256: str
    language: tuple[tuple[str, str], ...] = ()

    def rows(self) -> list[tuple[str, str]]:
        """``(label, value)`` for each line of the heading, as people read them."""
        consent = [f"{p.name}: {p.consent}" for p in self.present if p.consent]
        return [
            ("Case reference", self.case_reference),
            ("Visit type", self.visit_type[:1].upper() + self.visit_type[1:]),
            ("Visit date", written_date(self.visit_date)),
            (
                "Present",
                "; ".join(f"{p.name} ({p.role})" if p.role else p.name for p in self.present)
                or "Not recorded",
            ),
            *self.language,
            ("Consent to record", "; ".join(consent) or "Not recorded"),
            ("Written by", self.author),
            ("Approved by", f"{self.approver}, {written_time(self.approved_at)} ({zone_name()})"),
            (HASH_LABEL, self.sha256),
        ]


def visit_type_words(visit_type: str) -> str:
    """A visit type's name in words: ``home-visit`` gives ``home visit``."""
    return visit_type.replace("-", " ").replace("_", " ").strip()


def present_from(participants: Iterable[Mapping[str, Any]]) -> tuple[Present, ...]:
    """The people present, from a recording's decrypted participants list."""
    people = []
    for person in participants:
        name = clean_line(str(person.get("name", "")))
        consent = person.get("consent") or {}
        words = _CONSENT_WORDS.get(str(consent.get("method", "")), "")
        given_by = clean_line(str(consent.get("given_by", "")))
        if words and given_by and given_by != name:
            words += f", given by {given_by}"
        people.append(Present(name, clean_line(str(person.get("role", ""))), words))
    return tuple(people)


def export_filename(meta: NoteMeta, extension: str) -> str:
    """The file name a download is saved under: ``AC-2024-0117 home visit 2026-12-01.pdf``.

    Characters a file system or a case system may refuse (slashes, colons, quotes,
    control characters) become ``-``; letters with accents are kept (see
    :func:`content_disposition` for browsers that only take ASCII).

    Args:
        meta: The note's heading details.
        extension: ``txt``, ``docx``, ``pdf`` or ``json``.
    """
    parts = [
        _safe(meta.case_reference)[:_MAX_NAME_PART].strip(" .-") or "case",
        _safe(visit_type_words(meta.visit_type)) or "visit",
        _safe(meta.visit_date),
    ]
    return " ".join(part for part in parts if part) + f".{extension}"


def content_disposition(filename: str) -> str:
    """A ``Content-Disposition`` header that saves the download as ``filename``.

    ``filename`` carries an ASCII form for old clients, ``filename*`` the exact name
    (RFC 6266), so a case reference with accents survives in browsers that read it.
    """
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = " ".join(re.sub(r'["\\]', "-", ascii_name).split()) or "note"
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def _safe(text: str) -> str:
    text = unicodedata.normalize("NFC", clean_line(text))
    return re.sub(r"[\s-]*-[\s-]*", "-", _UNSAFE.sub("-", text)).strip()
