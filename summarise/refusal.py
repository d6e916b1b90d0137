"""Checking one sentence the language model wrote, independently of the model.

A sentence is refused when it carries markup or the model's own thinking, is not in the
third person, changes a number, date, medicine or negation, names someone who was not
named, adds words of its own, or is not about the reply it was asked to write up.
Where the model took a speaker's "him" for the person asking, the pronoun can be put
back (:func:`restore_pronoun`) and the sentence checked again.
"""

from __future__ import annotations

import re

from summarise.grounding import critical_terms
from summarise.people import Cast, Person
from summarise.rewrite import MARKUP
from summarise.text import content_words

__all__ = ["ALLOWED_NEW", "best_source", "overlap", "refusal", "restore_pronoun"]

_THINKING = re.compile(
    r"\b(?:let me|i think|as an ai|i cannot|i can't help|i'm sorry|here is|here are|here's|"
    r"rewrite|rewritten|third person|british english|case note|the reply|the question|"
    r"sentences?\b)",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"\b(?:said (?:hello|hi|good morning|good afternoon|goodbye|thank you|thanks)|greeted|"
    r"thanked|welcomed)\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|myself|we|we're|our|us)\b")
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|yourselves)\b", re.IGNORECASE)
_STUTTER = re.compile(r"\b(\w+)(?:\W+\1\b){2,}", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:['-][A-Za-z]+)?\b")
_NOT_NAMES = {
    "The", "They", "Their", "She", "He", "His", "Her", "It", "This", "That", "There",
    "Mr", "Mrs", "Ms", "Miss", "Dr", "Mum", "Dad", "Nan", "Gran", "English", "British",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "GP",
    "When", "While", "After", "Before", "If", "But", "And", "So", "Both", "Last", "Next",
}  # fmt: skip
# Words a sentence may use beyond what was said: the frame, pronouns, small verbs.
ALLOWED_NEW = content_words(
    "said says told explained described reported added mentioned stated confirmed asked "
    "agreed feels felt they their them themselves he she his her him hers has have had "
    "was were is are been being also that this which who would will can could does did "
    "not cannot about since there person social worker carer parent child family member "
    "daughter son wife husband mother father brother sister sometimes currently usually "
    "well manage managing managed answered replied recalled added"
)
_MAX_NEW_WORDS = 1


def overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a))


def best_source(sentence: str, sources: list[str]) -> str:
    words = content_words(sentence)
    return max(sources, key=lambda s: overlap(words, content_words(s)))


def refusal(sentence: str, sources: list[str], context: str, speaker: Person, cast: Cast) -> str:
    """Why a model's sentence cannot be used, or ``""`` when it can.

    Args:
        sentence: One sentence the model wrote.
        sources: The cleaned sentences of the reply it was asked to write up.
        context: The question the reply answers (may be empty).
        speaker: Who gave the reply.
        cast: Everyone present.
    """
    if MARKUP.search(sentence):
        return "markup"
    if _THINKING.search(sentence):
        return "thinking-or-echo"
    if sentence.endswith("?") or not 3 <= len(sentence.split()) <= 45:
        return "shape"
    if _STUTTER.search(sentence):
        return "loop"  # "the patient patient patient"
    if _GREETING.search(sentence):
        return "greeting"
    if _SECOND_PERSON.search(sentence):
        return "not-third-person"  # "…to do your assessment": a note names people
    if _FIRST_PERSON.search(sentence.lower()) and not _FIRST_PERSON.search(speaker.name.lower()):
        return "not-third-person"
    if re.search(r"\bspeaker\s*\d", sentence, re.IGNORECASE) and not speaker.name.startswith(
        "Speaker"
    ):
        return "speaker-number"
    reply = " ".join(sources)
    said = f"{context} {reply}"
    ours, theirs = critical_terms(sentence), critical_terms(said)
    for kind in ("number", "date", "medication"):
        if ours[kind] - theirs[kind]:
            return f"changed-{kind}"
    best = best_source(sentence, sources)
    if bool(critical_terms(best)["negation"]) != bool(ours["negation"]):
        return "changed-negation"
    said_words = set(re.findall(r"[a-z0-9']+", said.lower()))
    speaker_words = {w.lower() for w in re.findall(r"[A-Za-z']+", speaker.name)}
    for name in _CAPITALISED.findall(sentence):
        if name in _NOT_NAMES or name.lower() in said_words or name.lower() in speaker_words:
            continue
        return "new-name"
    if not _FIRST_PERSON.search(best.lower()) and _speaker_as_doer(sentence, speaker):
        return "speaker-as-doer"  # "A man rang" became "Mr Mehta rang"
    if speaker.named and _named_twice(sentence, speaker.name, reply):
        return "speaker-twice"  # "Tyler said he did Tyler the odd favour"
    if _changed_doer(sentence, best):
        return "changed-doer"  # "he sent me a text" became "She sent a text"
    if _two_of_one_pronoun(sentence, reply) or _speaker_as_someone_else(sentence, reply):
        return "ambiguous-pronoun"  # "He's never frightened me": "he has never frightened him"
    if _own_given_to_other(sentence, best, speaker):
        return "ambiguous-possessive"  # "Jason borrows the card to do my shop": "his shop"
    if _new_relation(sentence, said, cast):
        return "new-relation"  # "his husband", of a boy of fourteen: nobody said husband
    if _WHETHER.match(best) and not re.search(r"\b(?:whether|if)\b", sentence, re.IGNORECASE):
        return "lost-whether"  # "Whether I have carers in every morning" became "he has carers"
    present = {w for p in cast.people.values() if p.named for w in p.name.split()}
    if _vocative_as_subject(sentence, reply, present):
        return "vocative-as-subject"  # "Joan, I'm sorry. Frank died in 2019.": "Joan had died"
    if (
        speaker.professional
        and _SECOND_PERSON.search(best)
        and not _names_other(sentence, speaker, cast)
    ):
        # "You're not in trouble" to a child became "Zoe Clarke said she was not in
        # trouble": the person spoken to must be named, or the words are quoted.
        return "lost-addressee"
    if '"' in sentence or "“" in sentence:
        return "quote-marks"  # quoting is done from the transcript, never by the model
    others = {p.name for p in cast.others(speaker.label) if p.named}
    for name in others:
        if sentence.startswith(name) and name.split()[0].lower() not in reply.lower():
            return "wrong-speaker"
        if re.match(rf"{re.escape(name)} (?:said|says|told|asked|explained|reported)\b", sentence):
            return "wrong-speaker"  # the reply is the speaker's, not someone else's
    new = content_words(sentence) - content_words(said) - ALLOWED_NEW
    new -= content_words(speaker.name)
    if len(new) > _MAX_NEW_WORDS:
        return "new-words"
    own = content_words(sentence) - ALLOWED_NEW - content_words(speaker.name)
    if overlap(own, content_words(reply)) < 0.5:
        return "not-from-reply"
    return ""


# A sentence that opens on what is in question, not on what is so: "Whether I have
# carers in every morning for my washing."
_WHETHER = re.compile(r"^\W*(?:whether|if)\b", re.IGNORECASE)
# A name said to someone, to catch their attention: "Joan, I'm sorry.", "Win, I'll ring…"
# ("Callum, my grandson, does a shop" speaks of Callum).
_VOCATIVE = re.compile(
    r"(?:^|[.!?]\s+)(?:\w+,\s+)?([A-Z][a-z'-]+),\s+(?i:i|i'm|i'll|i've|we|we'll|you|you're|"
    r"it's|that's|there's|this is)\b"
)


def _vocative_as_subject(sentence: str, reply: str, present: set[str]) -> bool:
    """Whether the sentence names someone present who was only spoken to, in place of a
    name the reply spoke of: "Joan, I'm sorry. Frank died in 2019." as "Joan had died in
    2019"."""
    spoken_to = {n for n in _VOCATIVE.findall(reply) if n in present}
    if not spoken_to:
        return False

    def names(text: str) -> set[str]:
        return {n.split("'")[0] for n in _CAPITALISED.findall(text)} - _NOT_NAMES

    only_spoken_to = [n for n in names(sentence)
                      if n in spoken_to and len(re.findall(rf"\b{n}\b", reply)) == 1]  # fmt: skip
    if not only_spoken_to:
        return False
    if any(n not in names(sentence) for n in names(reply) - spoken_to):
        return True
    # "Jade, this is the planned visit" as "Owen Davies said Jade is the planned visit":
    # the one spoken to made what the sentence is about, with no "you" said of them.
    return not _SECOND_PERSON.search(reply) and any(
        re.search(rf"\bsaid (?:that )?{n}\b(?!')", sentence) for n in only_spoken_to
    )


def _names_other(sentence: str, speaker: Person, cast: Cast) -> bool:
    """Whether the sentence names someone present other than the speaker, or a role."""
    names = [p.name for p in cast.others(speaker.label)] + [n for n, _ in cast.participants]
    theirs = {w.lower() for name in names for w in name.split() if len(w) > 2}
    own = {w.lower() for w in speaker.name.split()} | {"the"}  # "The carer": "carer" names
    return bool((theirs - own) & set(re.findall(r"[a-z']+", sentence.lower())))


_REPORTING = {
    "said", "says", "told", "tells", "explained", "explains", "described", "describes",
    "reported", "reports", "added", "adds", "mentioned", "mentions", "stated", "states",
    "confirmed", "confirms", "agreed", "agrees", "noted", "notes", "asked", "answered",
    "replied", "recalled", "commented", "feels", "felt", "thinks", "thought", "believes",
    "believed", "shared", "raised", "expressed",
}  # fmt: skip


def _speaker_as_doer(sentence: str, speaker: Person) -> bool:
    """Whether the sentence makes the speaker do what their reply told of someone else.

    Only called for a reply with no "I", "me" or "my" in it: there the speaker can be
    the one who said it, not the one who did it.
    """
    if not speaker.named:
        return False
    words = speaker.name.split()
    names = {speaker.name} | ({words[0]} if words[0] not in _NOT_NAMES else set())
    for name in names:
        for found in re.finditer(rf"\b{re.escape(name)}\s+([a-z]+)\b", sentence):
            if found.group(1) not in _REPORTING:
                return True
    return False


# Small verbs that say too little of who did what to compare ("she was", "he has").
_AUXILIARY = {
    "is", "was", "has", "had", "have", "does", "did", "will", "would", "can", "could",
    "should", "may", "might", "must", "gets", "got", "goes", "went", "says", "wants",
}  # fmt: skip


def _changed_doer(sentence: str, said: str) -> bool:
    """Whether the sentence gives an act to "she" that the words gave to "he", or back.

    A speaker's "I" may become either, so it licenses both; the check is only made where
    the words name the doer of the same verb by pronoun and never by "I", "we" or "they".
    """
    said = said.lower()
    for found in re.finditer(r"\b(he|she)\s+([a-z]{3,})\b", sentence.lower()):
        pronoun, verb = found.groups()
        if verb in _REPORTING or verb in _AUXILIARY:
            continue
        doers = set(re.findall(rf"\b(he|she|i|we|they)\s+{re.escape(verb)}\b", said))
        if doers and pronoun not in doers and not doers & {"i", "we", "they"}:
            return True
    return False


def _named_twice(sentence: str, name: str, said: str) -> bool:
    """Whether the sentence names the speaker twice where the words named them not at all:
    the model put the speaker's name for someone the speaker spoke of."""
    first = name.split()[0]
    if re.search(rf"\b{re.escape(first)}\b", said, re.IGNORECASE):
        return False
    return len(re.findall(rf"\b{re.escape(first)}\b", sentence)) >= 2


def _two_of_one_pronoun(sentence: str, said: str) -> bool:
    """Whether the sentence leaves two people as "he" (or "she") where the words told them
    apart by "I" and "he".

    "He's never frightened me", said by Mr Greaves of his son, written "Mr Greaves said
    he has never frightened him", no longer says who frightened whom; quoted, it does.
    """
    said = said.lower()
    if not _FIRST_PERSON.search(said):
        return False
    for pattern in _PRONOUNS.values():
        if pattern.search(said) and len(pattern.findall(sentence)) >= 2:
            return True
    return False


def _own_given_to_other(sentence: str, said: str, speaker: Person) -> bool:
    """Whether the speaker's "my" became "his" or "her" in a sentence about someone else.

    "Jason borrows the card to do my shop", said by Mr Greaves, written "Jason borrows the
    card to do his shop", reads as Jason's shop: whose it is was lost.
    """
    own = set(re.findall(r"\bmy\s+([a-z]+)", said.lower()))
    if not own:
        return False
    speaker_words = {w.lower() for w in re.findall(r"[A-Za-z']+", speaker.name)}
    for found in re.finditer(r"\b(?:his|her)\s+([a-z]+)", sentence):
        if found.group(1) not in own:
            continue
        before = sentence[: found.start()]
        if any(
            name not in _NOT_NAMES and name.lower() not in speaker_words
            for name in _CAPITALISED.findall(before)
        ):
            return True
    return False


# Relations the model may not add: a speaker's "he" is not "her husband" unless someone
# said so, or the participants list says it.
_RELATIONS = {
    "husband": {"husband"}, "wife": {"wife"}, "son": {"son", "lad", "boy"},
    "daughter": {"daughter", "girl"}, "mother": {"mother", "mum", "mam", "mom", "mummy"},
    "father": {"father", "dad", "daddy"}, "brother": {"brother"}, "sister": {"sister"},
    "partner": {"partner", "boyfriend", "girlfriend"}, "grandson": {"grandson"},
    "granddaughter": {"granddaughter"},
}  # fmt: skip


def _new_relation(sentence: str, said: str, cast: Cast) -> bool:
    """Whether the sentence names a family relation that neither the words nor the
    participants list gave."""
    words = set(re.findall(r"[a-z]+", sentence.lower()))
    known = set(re.findall(r"[a-z]+", said.lower()))
    for _name, role in cast.participants:
        known |= set(re.findall(r"[a-z]+", role.lower()))
    for person in cast.people.values():
        known |= set(re.findall(r"[a-z]+", person.role.lower()))
    return any(relation in words and not (forms & known) for relation, forms in _RELATIONS.items())


_AUX = r"(?:(?:was|is|were|am|has|had|have|'s|'m|'d|would|will|'ll|just|still|never|always)\s+)?"


def _speaker_as_someone_else(sentence: str, said: str) -> bool:
    """Whether the sentence gives the speaker's own act ("I was ringing and ringing") to a
    pronoun the words use for someone else ("he's out till all sorts"): "Shanice Doyle said
    he was ringing" no longer says who rang."""
    said = said.lower()
    for found in re.finditer(rf"\b(he|she)\s+{_AUX}([a-z]{{3,}})\b", sentence.lower()):
        pronoun, verb = found.groups()
        if verb in _REPORTING or verb in _AUXILIARY:
            continue
        doers = set(
            re.findall(rf"\b(he|she|i|we|they)(?:'[a-z]+)?\s+{_AUX}{re.escape(verb)}\b", said)
        )
        if doers == {"i"} and _PRONOUNS[pronoun].search(said):
            return True
    return False


_PRONOUNS = {
    "he": re.compile(r"\b(?:he|him|his|himself)\b", re.IGNORECASE),
    "she": re.compile(r"\b(?:she|her|hers|herself)\b", re.IGNORECASE),
}
_OBJECT = {"he": "him", "she": "her"}
_POSSESSIVE = {"he": "his", "she": "her"}
# Words after which a name is the subject of what follows ("said he", "that he").
_SUBJECT_AFTER = re.compile(
    r"(?:^|\b(?:said|says|that|and|but|because|when|while|if|so|as)\s*|[,;:]\s*)$", re.IGNORECASE
)


def restore_pronoun(sentence: str, sources: list[str], asker: Person) -> str:
    """Put back the pronoun a model replaced with the asker's name, where that is clear.

    Only when the asker's name is not in what was said and the reply uses the pronouns
    of one gender only: "him" could be anyone but the asker, so the note keeps "him"
    rather than guess. Returns the sentence unchanged when that is not clear.
    """
    said = " ".join(sources)
    if not asker.named or asker.name.split()[0].lower() in said.lower():
        return sentence
    genders = [g for g, pattern in _PRONOUNS.items() if pattern.search(said)]
    if len(genders) != 1:
        return sentence
    gender = genders[0]
    names = sorted({asker.name, asker.name.split()[0]}, key=len, reverse=True)
    # Not "Tom Hughes": a name the model made up from two people's is no pronoun.
    pattern = re.compile(rf"\b(?:{'|'.join(re.escape(n) for n in names)})('s)?\b(?!\s+[A-Z])")

    def pronoun(match: re.Match[str]) -> str:
        if match.group(1):
            word = _POSSESSIVE[gender]
        elif _SUBJECT_AFTER.search(sentence[: match.start()]):
            word = gender
        else:
            word = _OBJECT[gender]
        return word.capitalize() if match.start() == 0 else word

    return pattern.sub(pronoun, sentence)
