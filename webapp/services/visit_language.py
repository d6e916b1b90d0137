"""Visits held in another language or through an interpreter.

The uploader says which language was spoken (or that it should be detected) and
whether an interpreter was present, with their name if they wish. Such a recording
is transcribed in the language spoken and translated into English; the note is
drafted from the English, and its heading says the language and the interpreter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import sqlalchemy as sa

from policies import BadInput
from webapp import db
from webapp.context import Services

__all__ = [
    "DETECT",
    "MAX_INTERPRETER_NAME",
    "VisitLanguage",
    "api_language",
    "check_visit_language",
    "detected_language",
    "heading_rows",
    "keep_detected_language",
    "language_choices",
    "language_heading",
    "language_words",
    "recorded_language",
    "transcriber_for",
    "transcription_options",
    "visit_language_of",
    "visit_options",
]

logger = logging.getLogger(__name__)

#: The choice that asks Whisper to detect a language not in the list.
DETECT = "auto"
#: Longest interpreter's name kept.
MAX_INTERPRETER_NAME = 120


@cache
def language_choices() -> tuple[tuple[str, str], ...]:
    """``(value, words)`` of each choice on the upload form: English first, then the
    languages of :data:`transcribe.VISIT_LANGUAGES` by name, then "Other language
    (detect it)"."""
    # The transcription package loads PyAV and SciPy on import: only on first use.
    from transcribe import VISIT_LANGUAGES

    listed = sorted(VISIT_LANGUAGES.items(), key=lambda item: item[1])
    return (("", "English"), *listed, (DETECT, "Other language (detect it)"))


@dataclass(frozen=True)
class VisitLanguage:
    """The language of a visit and its interpreter.

    Attributes:
        code: Whisper's code of the language spoken, :data:`DETECT` to detect it, or
            ``None`` for English.
        interpreter_present: Whether an interpreter was present.
        interpreter_name: The interpreter's name; ``""`` when not given.
    """

    code: str | None = None
    interpreter_present: bool = False
    interpreter_name: str = ""

    @property
    def other_language(self) -> bool:
        """Whether the visit was held in a language other than English."""
        return self.code not in (None, "", "en")


def check_visit_language(language: VisitLanguage) -> VisitLanguage:
    """Check the upload form's language and interpreter, and tidy them.

    Args:
        language: As the form gave them.

    Returns:
        The language with ``None`` for English and the interpreter present whenever
        a name was given.

    Raises:
        BadInput: The language is not one of :func:`language_choices`, or the name is
            too long.
    """
    code = (language.code or "").strip()
    if code not in {value for value, _ in language_choices()}:
        raise BadInput(
            "Choose the language of the visit from the list, or \u201cOther language "
            "(detect it)\u201d.",
            field="visit_language",
        )
    name = language.interpreter_name.strip()
    if len(name) > MAX_INTERPRETER_NAME:
        raise BadInput(
            f"The interpreter's name can be at most {MAX_INTERPRETER_NAME} characters long.",
            field="interpreter_name",
        )
    return VisitLanguage(code or None, language.interpreter_present or bool(name), name)


def visit_language_of(svc: Services, rec: Any, key: bytes | None = None) -> VisitLanguage:
    """A recording's language and interpreter (the name decrypted).

    Args:
        svc: The app's services.
        rec: The recording row.
        key: The recording's data key, if already unwrapped.
    """
    name = ""
    if rec.interpreter_name_enc is not None:
        key = key or svc.vault.data_key(rec.id, rec.wrapped_key)
        name = svc.vault.open_text(
            key, "recording", rec.id, "interpreter_name", rec.interpreter_name_enc
        )
    return VisitLanguage(rec.visit_language, bool(rec.interpreter_present), name)


def language_words(code: str | None, detected: str | None = None) -> str:
    """The language of a visit in words.

    Args:
        code: The recording's ``visit_language``.
        detected: The language code Whisper found (see :func:`detected_language`).

    Returns:
        ``"Spanish"``, ``"Other language (detected as Polish)"``, ``"English"``, or
        for a language to be detected, ``"English (detected)"`` or ``"Other language
        (not yet detected)"``.
    """
    from transcribe import language_name

    if code != DETECT:
        return language_name(code) if code else "English"
    if not detected:
        return "Other language (not yet detected)"
    if detected == "en":
        return "English (detected)"
    return f"Other language (detected as {language_name(detected)})"


def _translated(language: VisitLanguage, detected: str | None) -> bool:
    """Whether the note was drafted from an English translation."""
    return language.other_language and detected != "en"


def heading_rows(language: VisitLanguage, detected: str | None = None) -> list[tuple[str, str]]:
    """The heading lines of a note about its language: none for an English visit
    without an interpreter, so the heading of such a note is as it always was.

    Args:
        language: The recording's language and interpreter.
        detected: The language Whisper found, for a visit whose language was detected.
    """
    if not language.other_language and not language.interpreter_present:
        return []
    words = language_words(language.code, detected)
    if _translated(language, detected):
        words += "; transcribed as spoken and translated into English"
    rows = [("Language", words)]
    if language.interpreter_present:
        rows.append(("Interpreter", language.interpreter_name or "Present (name not recorded)"))
    return rows


def transcription_options(options: Any, language: VisitLanguage) -> Any:
    """The transcription options for a visit: another language is also translated.

    Args:
        options: The settings' :class:`transcribe.TranscribeOptions`.
        language: The visit's language.

    Returns:
        The options, with the language (``None`` to detect it) and translation set
        for a visit in another language.
    """
    if not language.other_language:
        return options
    code = None if language.code == DETECT else language.code
    return replace(options, language=code, translate=True)


def visit_options(svc: Services, rec: Any, key: bytes, options: Any) -> Any:
    """A recording's transcription options: :func:`transcription_options` for its
    language (the jobs' own options when it was in English).

    Args:
        svc: The app's services.
        rec: The recording row.
        key: The recording's data key.
        options: The options the settings and the participants give.
    """
    return transcription_options(options, visit_language_of(svc, rec, key))


def transcriber_for(transcriber: Any, options: Any) -> Any:
    """The transcriber for these options: the app's own, unless it knows English only
    and the visit was in another language, when the multilingual base model is loaded.

    Args:
        transcriber: The app's transcriber (``svc.model("transcriber")``).
        options: The recording's options (see :func:`visit_options`).
    """
    wanted = options.language not in (None, "en") or options.translate
    if wanted and getattr(transcriber, "multilingual", True) is False:
        import transcribe

        logger.info("English-only Whisper model configured: using base for another language")
        return transcribe.load_transcriber(replace(options, model="base"))
    return transcriber


def detected_language(rec: Any) -> str | None:
    """The code of the language a recording was in: the one Whisper found for a
    language to be detected (``None`` before it is transcribed), else the one chosen;
    ``None`` for English."""
    if rec.visit_language == DETECT:
        return rec.detected_language or None
    return rec.visit_language or None


def keep_detected_language(svc: Services, rec: Any, transcript: Any) -> None:
    """Record the language Whisper found, for a recording whose language was to be
    detected, so that its note's heading can name it.

    Args:
        svc: The app's services.
        rec: The recording row.
        transcript: Its :class:`transcribe.Transcript`.
    """
    if rec.visit_language != DETECT:
        return
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.recordings)
            .where(db.recordings.c.id == rec.id)
            .values(detected_language=str(transcript.language)[:16])
        )


def recorded_language(
    svc: Services, key: bytes, recording_id: str
) -> tuple[VisitLanguage, str | None]:
    """A recording's language and interpreter, and the language it was in (see
    :func:`detected_language`), read with a connection of their own.

    Args:
        svc: The app's services.
        key: The recording's data key.
        recording_id: The recording.
    """
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings).where(db.recordings.c.id == recording_id)).one()
        conn.rollback()
    return visit_language_of(svc, rec, key), detected_language(rec)


def language_heading(svc: Services, key: bytes, rec: Any) -> tuple[tuple[str, str], ...]:
    """A recording's note heading lines on its language and interpreter (none for an
    English visit without an interpreter); see :func:`heading_rows`.

    Args:
        svc: The app's services.
        key: The recording's data key.
        rec: The recording row.
    """
    return tuple(heading_rows(visit_language_of(svc, rec, key), detected_language(rec)))


def api_language(language: VisitLanguage, detected: str | None) -> dict[str, Any]:
    """The language and interpreter as the API's note heading gives them."""
    return {
        "language": {
            "code": detected or ("en" if not language.other_language else None),
            "name": language_words(language.code, detected),
            "detected": language.code == DETECT,
            "translated_into_english": _translated(language, detected),
        },
        "interpreter": {
            "present": language.interpreter_present,
            "name": language.interpreter_name or None,
        },
    }
