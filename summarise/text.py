"""Plain-text helpers: filler removal, sentence splitting, reported speech, UK spelling."""

from __future__ import annotations

import re

__all__ = [
    "british_spelling",
    "clean_utterance",
    "content_words",
    "author_statement",
    "reported_speech",
    "speaker_label",
    "third_person",
    "is_housekeeping",
    "split_sentences",
    "CARDINALS",
    "ORDINALS",
    "COMPOUND_NUMBER",
]

_UNIT_WORDS = "one two three four five six seven eight nine".split()
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINAL_UNIT_WORDS = "first second third fourth fifth sixth seventh eighth ninth".split()
#: Numbers said in words, one to nineteen and the tens, with their values.
CARDINALS: dict[str, int] = {
    w: n
    for n, w in enumerate(_UNIT_WORDS + "ten eleven twelve thirteen fourteen fifteen "
                          "sixteen seventeen eighteen nineteen".split(), start=1)
} | {w: n for n, w in zip(range(20, 100, 10), _TENS_WORDS, strict=True)}  # fmt: skip
#: Ordinals said in words, "first" to "nineteenth", "twentieth" and "thirtieth".
ORDINALS: dict[str, int] = {
    w: n
    for n, w in enumerate(_ORDINAL_UNIT_WORDS + "tenth eleventh twelfth thirteenth "
                          "fourteenth fifteenth sixteenth seventeenth eighteenth "
                          "nineteenth".split(), start=1)
} | {"twentieth": 20, "thirtieth": 30}  # fmt: skip
#: A number of tens and a unit said in words: "eighty-four", "twenty first".
COMPOUND_NUMBER = re.compile(
    rf"\b({'|'.join(_TENS_WORDS)})[- ]({'|'.join(_UNIT_WORDS + _ORDINAL_UNIT_WORDS)})\b"
)

_FILLERS = re.compile(
    r"(?<![\w'-])(?:u+m+|u+h+m*|e+r+m+|h+m+|mm+-?hmm+|mm+|uh-huh|you know)(?![\w'-])\s*[,.]?",
    re.IGNORECASE,
)
# Only between commas is "like" a filler; elsewhere it may be a verb.
_COMMA_LIKE = re.compile(r",\s*like\s*,", re.IGNORECASE)
# Words dropped only at the start of a sentence, where they carry nothing.
_LEADING = re.compile(
    r"^(?:(?:and|but|then|now|so|okay|ok|all right|alright|yeah|well|oh|anyway)\b[\s,.]*)+",
    re.IGNORECASE,
)
# Sentences said to a dictation system or about the visit's logistics, not its content:
# "show me the chest x-ray", "finalise the note", "the nurse will be in".
_HOUSEKEEPING = re.compile(
    r"^(?:(?:can you |please |let me )?show me\b|finali[sz]e the (?:note|report)\b"
    r"|(?:the )?nurse will be (?:in|right in)\b|i(?:'d| would) like to do a (?:quick )?"
    r"physical exam\b|let(?:'s| us) (?:go ahead and )?(?:do a )?(?:quick )?physical exam\b)",
    re.IGNORECASE,
)
# Announcing what comes next rather than saying it: "I just want to go over my
# assessment and plan", "let's talk about your medication". They sound like a section's
# guidance, so they would be chosen for it, but hold no fact; a short one with no number
# in it is left out.
_ANNOUNCEMENT = re.compile(
    r"^(?:(?:so|now|okay|ok|alright|all right|well),?\s+)*"
    r"(?:i(?:'d| would)? (?:just )?(?:like to|want to|wan ?na|need to)|let(?:'s| us)(?: just)?"
    r"|we(?:'ll| will| are going to| can)(?: just)?|can we(?: just)?"
    r"|i(?:'m| am) (?:just )?(?:going to|gonna|gon na))"
    r"\s+(?:go over|talk(?: a (?:little )?bit)? about|discuss|review|run through|recap"
    r"|go through|move on to|switch gears)\b",
    re.IGNORECASE,
)
_ANNOUNCEMENT_MAX_WORDS = 20
# Voice-assistant wake words said to a dictation system ("hey dragon, order ...").
_WAKE_WORDS = re.compile(r"\b(?:hey|ok|okay),?\s+(?:dragon|dax|alexa|siri|google)\b[,.]?\s*", re.I)
_STUTTER = re.compile(r"\b(\w+(?:'\w+)?)(?:\s*,?\s+\1\b)+", re.IGNORECASE)
_BROKEN = re.compile(r"\b\w+-\s+(?=\w)")  # "ex- exerting"
_SPACE_PUNCT = re.compile(r"\s+([,.?!;:])")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")

_UK = {
    "color": "colour",
    "behavior": "behaviour",
    "favorite": "favourite",
    "honor": "honour",
    "labor": "labour",
    "neighbor": "neighbour",
    "center": "centre",
    "fiber": "fibre",
    "liter": "litre",
    "program": "programme",
    "organize": "organise",
    "organization": "organisation",
    "recognize": "recognise",
    "realize": "realise",
    "apologize": "apologise",
    "emphasize": "emphasise",
    "minimize": "minimise",
    "prioritize": "prioritise",
    "summarize": "summarise",
    "analyze": "analyse",
    "paralyze": "paralyse",
    "hospitalize": "hospitalise",
    "catalog": "catalogue",
    "counseling": "counselling",
    "counselor": "counsellor",
    "traveling": "travelling",
    "canceled": "cancelled",
    "pediatric": "paediatric",
    "pediatrician": "paediatrician",
    "orthopedic": "orthopaedic",
    "anemia": "anaemia",
    "edema": "oedema",
    "esophagus": "oesophagus",
    "diarrhea": "diarrhoea",
    "estrogen": "oestrogen",
    "hemoglobin": "haemoglobin",
    "anesthesia": "anaesthesia",
    "gynecology": "gynaecology",
    "leukemia": "leukaemia",
    "tumor": "tumour",
    "gray": "grey",
    "mom": "mum",
    "license": "licence",
    "defense": "defence",
    "offense": "offence",
    "practice": "practice",
    "aging": "ageing",
    "fetus": "foetus",
}
_UK_PATTERN = re.compile(
    r"\b(" + "|".join(sorted(_UK, key=len, reverse=True)) + r")(s|ed|ing|ation|ations|d)?\b",
    re.IGNORECASE,
)

_FIRST_PERSON = [
    (r"\bi am\b|\bi'm\b", "{they} {be}"),
    (r"\bi was\b", "{they} {was}"),
    (r"\bi've\b", "{they} {have}"),
    (r"\bi'll\b", "{they} will"),
    (r"\bi'd\b", "{they} would"),
    (r"\bi\b", "{they}"),
    (r"\bmyself\b", "{themselves}"),
    (r"\bmy\b", "{their}"),
    (r"\bmine\b", "{theirs}"),
    (r"\bme\b", "{them}"),
]
_SECOND_PERSON = [
    # "talk to you both": more than the one person spoken to, so not their name.
    (r"\b(?:(both|all) of you|you (both|all))\b", "\\1\\2 of them"),
    (r"\byou are\b|\byou're\b", "{other} is"),
    (r"\byou were\b", "{other} was"),
    (r"\byou've\b|\byou have\b", "{other} has"),
    (r"\byou'll\b", "{other} will"),
    (r"\byou'd\b", "{other} would"),
    (r"\byou do\b", "{other} does"),
    (r"\byourself\b", "{other}"),
    (r"\byour\b", "{other_pos}"),
    (r"\byou\b", "{other}"),
]

_ROLE_WORDS = {
    "doctor",
    "patient",
    "person",
    "carer",
    "parent",
    "child",
    "social worker",
    "supervisor",
    "practitioner",
    "chair",
    "family member",
    "nurse",
}
#: Speaker labels that name a role; a note writes them "the person", "the social worker".
ROLE_WORDS = frozenset(_ROLE_WORDS)


def british_spelling(text: str) -> str:
    """Return ``text`` with common US spellings changed to British ones."""

    def swap(match: re.Match[str]) -> str:
        word, suffix = match.group(1), match.group(2) or ""
        uk = _UK[word.lower()]
        if word[0].isupper():
            uk = uk[0].upper() + uk[1:]
        if suffix in ("ed", "ing") and uk.endswith("e") and not word.endswith("e"):
            uk = uk[:-1]
        return uk + suffix

    text = _UK_PATTERN.sub(swap, text)
    # A meter measures (the gas meter); a metre is a length ("two meters" is US spelling).
    return _LENGTH.sub(lambda m: m.group(1) + ("Metre" if m.group(2)[0] == "M" else "metre"), text)


_LENGTH = re.compile(
    r"(\b(?:\d+(?:\.\d+)?|a|one|two|three|four|five|six|seven|eight|nine|ten|a few|"
    r"several|hundred)\s+(?:square\s+|cubic\s+)?)([Mm]eter)(?=s?\b)",
    re.IGNORECASE,
)


def is_housekeeping(sentence: str) -> bool:
    """Whether a sentence is an instruction to a dictation system, visit logistics, or
    a short announcement of what comes next with no fact in it."""
    text = sentence.strip()
    if _HOUSEKEEPING.match(text):
        return True
    return (
        bool(_ANNOUNCEMENT.match(text))
        and len(text.split()) <= _ANNOUNCEMENT_MAX_WORDS
        and not any(ch.isdigit() for ch in text)
    )


def clean_utterance(text: str) -> str:
    """Remove fillers, stutters and spacing artefacts from spoken text.

    The result keeps every content word in its order; it is used to build
    extractive statements, never quotes (quotes keep the exact words).
    """
    text = _BROKEN.sub("", text)
    text = _SPACE_PUNCT.sub(r"\1", text)
    text = text.replace(" n't", "n't").replace(" 's", "'s").replace("...", ",")
    previous = None
    while previous != text:
        previous = text
        text = _FILLERS.sub("", text)
        text = _COMMA_LIKE.sub(",", text)
        text = _STUTTER.sub(r"\1", text)
    text = re.sub(r"([,.?!])(?:\s*[,])+", r"\1", text)
    text = re.sub(r"(?:^|\s)[,.]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;")
    text = _WAKE_WORDS.sub("", text)
    sentences = [_LEADING.sub("", s).strip(" ,;") for s in split_sentences(text)]
    return " ".join(s for s in sentences if s and s not in ".?!")


def split_sentences(text: str) -> list[str]:
    """Split text at sentence ends; keeps each sentence's own punctuation."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def content_words(text: str) -> set[str]:
    """Return the lower-case words of three or more letters, with simple stems."""
    words = re.findall(r"[a-z][a-z'-]{2,}", text.lower())
    return {_stem(w) for w in words}


def _stem(word: str) -> str:
    word = word.replace("'", "")
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def speaker_label(speaker: str | None, person: str = "The person") -> str:
    """Return how the note names a speaker: "The patient", "Mrs Jones", "Speaker 1"."""
    if not speaker:
        return person
    cleaned = speaker.strip().replace("_", " ")
    if cleaned.lower() in _ROLE_WORDS:
        return "The " + cleaned.lower()
    if re.fullmatch(r"speaker\s*\d+", cleaned, re.IGNORECASE):
        return "Speaker " + re.sub(r"\D", "", cleaned)
    return cleaned


def third_person(text: str, other: str, *, keep_first_person: bool = False) -> str:
    """Change "I/my" to "they/their" and "you/your" to ``other`` ("the patient").

    Args:
        text: The utterance.
        other: How the note names the person spoken to.
        keep_first_person: Leave "I", "my" and "we" as they are (the note's author).
    """
    names = {
        "they": "they", "be": "are", "was": "were", "have": "have",
        "themselves": "themselves", "their": "their", "theirs": "theirs", "them": "them",
        "other": other, "other_pos": other + "'s",
    }  # fmt: skip
    rules = _SECOND_PERSON if keep_first_person else _FIRST_PERSON + _SECOND_PERSON
    for pattern, repl in rules:
        text = re.sub(pattern, repl.format(**names), text, flags=re.IGNORECASE)
    if not keep_first_person:
        text = re.sub(r"\bwe\b", "they", text, flags=re.IGNORECASE)
        text = re.sub(r"\bour\b", "their", text, flags=re.IGNORECASE)
        text = re.sub(r"\bus\b", "them", text, flags=re.IGNORECASE)
    else:
        text = re.sub(r"\bi\b", "I", text)
        text = re.sub(r"\bi'", "I'", text)
    return text


def author_statement(text: str, other: str) -> str:
    """The note author's own words as a statement: first person kept, "you" named."""
    body = third_person(text.rstrip(" ."), other, keep_first_person=True).strip(" ,")
    if not body or body.endswith("?"):
        return ""
    body = body[0].upper() + body[1:]
    return british_spelling(_capitalise_sentences(body) + ".")


def _capitalise_sentences(text: str) -> str:
    return re.sub(r"([.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def reported_speech(text: str, speaker: str, other: str, *, verb: str = "said") -> str:
    """Turn a cleaned utterance into a third-person statement.

    Args:
        text: The cleaned utterance.
        speaker: How the note names the speaker ("The patient").
        other: How the note names the person spoken to ("the doctor").
        verb: Reporting verb ("said", "reported").

    Returns:
        A sentence such as "The patient said that they feel tired."
    """
    body = third_person(text.rstrip(" .!?"), other)
    body = re.sub(r"\?", ",", body).strip(" ,")
    if not body:
        return ""
    question = text.rstrip().endswith("?")
    lead = f"{speaker} asked whether" if question else f"{speaker} {verb} that"
    return british_spelling(_capitalise_sentences(f"{lead} {body}."))
