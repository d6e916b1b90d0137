"""Visits in other languages: which languages, and pairing a translation with its original.

Whisper writes the English translation of a recording in its own segments, whose
boundaries need not match those of the transcript in the language spoken. Each
English segment is paired with the original segments it overlaps in time, so a
statement cited to the English points at the original words too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from policies.errors import BadInput
from transcribe.types import Segment, TranscribeOptions

__all__ = [
    "VISIT_LANGUAGES",
    "check_language",
    "language_name",
    "pair_with_original",
    "speakers_by_overlap",
]

#: Languages often spoken at visits in the UK that Whisper knows, by Whisper's code,
#: in the order a form lists them.
VISIT_LANGUAGES = {
    "ar": "Arabic",
    "bn": "Bengali",
    "zh": "Chinese (Mandarin or Cantonese)",
    "fa": "Farsi (Persian)",
    "fr": "French",
    "gu": "Gujarati",
    "hi": "Hindi",
    "it": "Italian",
    "lt": "Lithuanian",
    "ps": "Pashto",
    "pl": "Polish",
    "pt": "Portuguese",
    "pa": "Punjabi",
    "ro": "Romanian",
    "ru": "Russian",
    "so": "Somali",
    "es": "Spanish",
    "ta": "Tamil",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "cy": "Welsh",
}

#: Other languages Whisper may detect, named for people (the rest are shown by code).
_OTHER_NAMES = {
    "en": "English",
    "de": "German",
    "nl": "Dutch",
    "el": "Greek",
    "hu": "Hungarian",
    "cs": "Czech",
    "sk": "Slovak",
    "bg": "Bulgarian",
    "sq": "Albanian",
    "am": "Amharic",
    "ne": "Nepali",
    "vi": "Vietnamese",
    "ja": "Japanese",
    "ko": "Korean",
    "yue": "Cantonese",
    "sw": "Swahili",
    "yo": "Yoruba",
    "ln": "Lingala",
    "sr": "Serbian",
    "hr": "Croatian",
    "lv": "Latvian",
}

#: Less overlap than this (seconds) is the touching of neighbouring segments, not a pair.
_MIN_OVERLAP_S = 0.2


def language_name(code: str | None) -> str:
    """A language code in words: ``"es"`` gives ``"Spanish"``; an unknown code is kept."""
    if not code:
        return ""
    return VISIT_LANGUAGES.get(code) or _OTHER_NAMES.get(code) or code


def check_language(options: TranscribeOptions, multilingual: bool, model: str) -> None:
    """Refuse a language or a translation the model cannot give.

    Args:
        options: The transcription options asked for.
        multilingual: Whether the loaded model knows languages other than English.
        model: The model's name, for the message.

    Raises:
        BadInput: Another language, or a translation, was asked of an English-only model.
    """
    other = options.language not in (None, "en")
    if multilingual or not (other or options.translate):
        return
    what = (
        f"transcribe a recording in {language_name(options.language)}"
        if other
        else "translate a recording into English"
    )
    raise BadInput(
        f"The Whisper model {model} knows English only, so it cannot {what}. Use the "
        "multilingual model: --model base (the default), or set CARENOTES_WHISPER_MODEL to "
        "base or to another multilingual model's folder."
    )


def _overlap(a: Segment, b: Segment) -> float:
    return min(a.end, b.end) - max(a.start, b.start)


def _belongs(english: Segment, original: Segment) -> bool:
    overlap = _overlap(english, original)
    # A short original segment counts when at least half of it lies inside.
    return overlap > 0 and overlap >= min(_MIN_OVERLAP_S, (original.end - original.start) / 2)


def _nearest(segment: Segment, others: Sequence[Segment]) -> int:
    """Index of the segment in ``others`` overlapping ``segment`` most, else nearest."""
    middle = (segment.start + segment.end) / 2

    def score(i: int) -> tuple[float, float]:
        other = others[i]
        return (_overlap(segment, other), -abs((other.start + other.end) / 2 - middle))

    return max(range(len(others)), key=score)


def pair_with_original(
    english: Sequence[Segment], original: Sequence[Segment]
) -> tuple[Segment, ...]:
    """Give each English segment the ids of the original segments it overlaps in time.

    An English segment that overlaps none is paired with the nearest original one, and
    an original segment that no English segment overlaps is given to the English
    segment nearest it, so every original word is shown beside some English.

    Args:
        english: The translation's segments, numbered.
        original: The segments in the language spoken, numbered.

    Returns:
        The English segments with ``original_ids`` set, in time order.
    """
    if not original:
        return tuple(english)
    pairs: list[set[int]] = [{o.id for o in original if _belongs(seg, o)} for seg in english]
    for i, seg in enumerate(english):
        if not pairs[i]:
            pairs[i].add(original[_nearest(seg, original)].id)
    claimed = set().union(*pairs) if pairs else set()
    for o in original:
        if o.id not in claimed and english:
            pairs[_nearest(o, english)].add(o.id)
    return tuple(
        replace(seg, original_ids=tuple(sorted(ids)))
        for seg, ids in zip(english, pairs, strict=True)
    )


def speakers_by_overlap(
    translation: Sequence[Segment], original: Sequence[Segment]
) -> list[Segment]:
    """Give each translated segment the speaker who talks most during it."""
    out = []
    for seg in translation:
        talk: dict[str, float] = {}
        for o in original:
            overlap = _overlap(seg, o)
            if overlap > 0 and o.speaker:
                talk[o.speaker] = talk.get(o.speaker, 0.0) + overlap
        out.append(replace(seg, speaker=max(talk, key=lambda k: talk[k]) if talk else None))
    return out
