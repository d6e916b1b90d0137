"""Who is who in a conversation: speaker labels to the names a note uses.

The participants entered at upload (name and role) name the speakers: a speaker
labelled with a role ("carer") takes the name of the participant with that role; where
the speakers are only numbered ("Speaker 1"), the one who asks most of the questions
is taken to be the worker; a voice that introduces itself ("I'm Jo") or answers when
someone is spoken to by name ("Marcus, what do you think?") is that participant; and with
one voice and one participant left, the voice is that participant. When no participant
was named at upload, the opening of the visit names them ("Hi Mrs Hughes, I'm Tom
Bailey"). Anyone still unnamed keeps a role label ("The carer") or their number.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from summarise.text import ROLE_WORDS, speaker_label
from transcribe.types import Transcript

__all__ = ["PROFESSIONAL_ROLES", "TITLE", "Cast", "Person", "cast_of"]

#: Roles whose words are professional accounts rather than the person's.
PROFESSIONAL_ROLES = frozenset({
    "doctor", "nurse", "clinician", "gp", "social worker", "practitioner", "supervisor",
    "chair", "police", "health", "education", "other professional", "interviewer",
    "health visitor", "teacher", "housing officer", "advocate",
})  # fmt: skip
_WORKER_ROLES = ("social worker", "practitioner", "doctor", "supervisor", "chair")
_NUMBERED = re.compile(r"^speaker\s*_?\d+$", re.IGNORECASE)
#: A title said before a name ("Mrs Patel", "PC Oduya"), as a pattern.
TITLE = r"(?:Mr|Mrs|Ms|Miss|Dr|PC|DC|DS)"
# Titles by which a person is not called on their own ("Mrs", but "Nurse" too).
_TITLES = {"mr", "mrs", "ms", "miss", "dr", "pc", "dc", "ds", "nurse"}


@dataclass(frozen=True)
class Person:
    """One speaker as the note names them.

    Attributes:
        label: The transcript's speaker label.
        name: How the note names them ("Linda Hughes", "The carer", "Speaker 2").
        role: Their role in lower case ("carer"), or ``""`` when unknown.
        named: Whether ``name`` is a person's name rather than a role or a number.
    """

    label: str
    name: str
    role: str
    named: bool

    @property
    def professional(self) -> bool:
        """Whether this speaker speaks as a professional."""
        return self.role in PROFESSIONAL_ROLES


@dataclass(frozen=True)
class Cast:
    """Everyone who speaks, and everyone listed as present.

    Attributes:
        people: Speaker label to :class:`Person`.
        worker: Label of the speaker taken to be the note's author, if known.
        participants: ``(name, role)`` of everyone listed as present.
    """

    people: Mapping[str, Person]
    worker: str | None
    participants: tuple[tuple[str, str], ...]

    def person(self, label: str | None) -> Person:
        """The person behind a speaker label (an unlabelled speaker is "The person")."""
        if label and label in self.people:
            return self.people[label]
        return Person(label or "", speaker_label(label), _role_of(label), False)

    def names(self) -> set[str]:
        """Every name the note may use for someone present, as lower-case words."""
        words: set[str] = set()
        for name, _ in self.participants:
            words.update(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]+", name))
        for person in self.people.values():
            words.update(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]+", person.name))
        return words

    def running_text(self, text: str) -> str:
        """``text`` with a role used as a name lower-cased inside a sentence ("Last week,
        the carer found him"), and "the carer's carer's assessment" said once."""
        for person in self.people.values():
            if not person.named and person.name.startswith("The "):
                text = re.sub(r"(?<=[a-z,;] )" + re.escape(person.name) + r"\b",
                              person.name.lower(), text)  # fmt: skip
        return re.sub(r"\b(\w+)'s \1's\b", r"\1's", text)

    def others(self, label: str | None) -> list[Person]:
        """The speakers other than ``label``."""
        return [p for key, p in self.people.items() if key != label]


def _role_of(label: str | None) -> str:
    cleaned = (label or "").strip().lower().replace("_", " ")
    return cleaned if cleaned in ROLE_WORDS or cleaned in PROFESSIONAL_ROLES else ""


def _clean_participants(
    participants: Iterable[Mapping[str, str]] | None,
) -> tuple[tuple[str, str], ...]:
    out = []
    for item in participants or ():
        name = " ".join(str(item.get("name") or "").split())
        role = " ".join(str(item.get("role") or "").split()).lower()
        if name or role:
            out.append((name, role))
    return tuple(out)


def cast_of(
    transcript: Transcript,
    participants: Iterable[Mapping[str, str]] | None = None,
    person_label: str = "The person",
) -> Cast:
    """Name the transcript's speakers from the participants listed at upload.

    Args:
        transcript: The transcript; its segments' ``speaker`` labels are named.
        participants: ``{"name", "role"}`` of each person present, as entered.
        person_label: How to name an unlabelled speaker ("The person").

    Returns:
        The cast: a :class:`Person` for every speaker label.
    """
    listed = _clean_participants(participants)
    labels = list(dict.fromkeys(s.speaker for s in transcript.segments if s.speaker))
    questions: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for segment in transcript.segments:
        if segment.speaker:
            questions[segment.speaker] += segment.text.count("?")
            words[segment.speaker] += len(segment.text.split())
    by_role: dict[str, list[str]] = {}
    for name, role in listed:
        by_role.setdefault(role, []).append(name)
    people: dict[str, Person] = {}
    unnamed: list[str] = []
    for label in labels:
        role = _role_of(label)
        if role and by_role.get(role):
            names = by_role[role]
            name = names[0] if len(names) == 1 else ""
            people[label] = Person(label, name or speaker_label(label), role, bool(name))
        elif role:
            people[label] = Person(label, speaker_label(label, person_label), role, False)
        elif _NUMBERED.match(label):
            unnamed.append(label)
        else:  # already a name, e.g. renamed by the reviewer
            known = dict((n, r) for n, r in listed)
            people[label] = Person(label, label, known.get(label, ""), True)
    if unnamed:
        _name_numbered(unnamed, listed, questions, words, people, transcript)
    if not any(name for name, _role in listed):
        _name_from_introductions(people, transcript)
    worker = next(
        (lab for lab, p in people.items() if p.role in _WORKER_ROLES),
        next((lab for lab, p in people.items() if p.professional), None),
    )
    return Cast(people=people, worker=worker, participants=listed)


def _name_numbered(
    unnamed: list[str],
    listed: tuple[tuple[str, str], ...],
    questions: Counter[str],
    words: Counter[str],
    people: dict[str, Person],
    transcript: Transcript,
) -> None:
    """Name numbered speakers: the one asking most questions is the worker."""
    taken = {p.name for p in people.values() if p.named}
    free = [(n, r) for n, r in listed if n and n not in taken]
    workers = [(n, r) for n, r in free if r in _WORKER_ROLES]
    ordered = sorted(unnamed, key=lambda lab: (-questions[lab], -words[lab]))
    if workers and questions[ordered[0]] > 0:
        name, role = workers[0]
        people[ordered[0]] = Person(ordered[0], name, role, True)
        free.remove(workers[0])
        ordered = ordered[1:]
    for label, (name, role) in _named_by_address(ordered, free, transcript):
        people[label] = Person(label, name, role, True)
        ordered.remove(label)
        free.remove((name, role))
    if len(ordered) == 1 and len(free) == 1:
        name, role = free[0]
        people[ordered[0]] = Person(ordered[0], name, role, True)
        ordered = []
    for label in ordered:
        people[label] = Person(label, speaker_label(label), "", False)


_NAME = rf"(?:{TITLE} )?[A-Z][a-z'-]+(?: [A-Z][a-z'-]+)?"
# "I'm Tom Bailey, a social worker…", "My name's Jo and…"
_SELF = re.compile(r"(?i:\b(?:i'm|i am|my name is|my name's))\s+(?P<name>" + _NAME + r")"
                   r"(?=[,.!?]|$|\s+(?i:from|and|a|an|with|here)\b)")  # fmt: skip
# "Hi Mrs Hughes, …", "Mr Greaves? …", "Morning, Dennis."
_GREETED = re.compile(
    r"^(?:(?i:hi|hello|hiya|morning|good (?:morning|afternoon|evening))[,!]?\s+(?P<a>"
    rf"(?:{TITLE} )?[A-Z][a-z'-]+)|(?P<b>{TITLE} [A-Z][a-z'-]+))[,.!?]"
)
_NOT_NAMES = {
    "sorry", "afraid", "fine", "not", "just", "so", "here", "going", "glad", "happy", "okay",
    "ok", "sure", "still", "really", "very", "calling", "ringing", "worried", "also", "well",
    "good", "great", "alright", "all", "only", "back", "off", "done", "ready", "pleased",
}  # fmt: skip


def _name_from_introductions(people: dict[str, Person], transcript: Transcript) -> None:
    """Name, from how the visit opened, speakers when no participant was named at upload.

    A speaker who says "I'm Tom Bailey" is Tom Bailey; someone greeted "Hi Mrs Hughes"
    is Mrs Hughes (the other speaker of two, or whoever answers). Only the opening of
    the conversation counts, and a name already given to someone is not given again.
    """
    if all(p.named for p in people.values()):
        return
    segments = transcript.segments
    labels = list(people)
    opening = segments[: max(12, len(segments) // 10)]
    for index, segment in enumerate(opening):
        found: list[tuple[str | None, str]] = []
        for match in _SELF.finditer(segment.text):
            found.append((segment.speaker, match.group("name")))
        greeted = _GREETED.match(segment.text.strip())
        several = re.search(r"(?:,\s*|\band\s+)(?i:hi|hello)?\s*[A-Z][a-z'-]+[,.!?]",
                            segment.text[greeted.end() - 1 :] if greeted else "")  # fmt: skip
        if greeted and not (several and several.start() == 0):
            others = [lab for lab in labels if lab != segment.speaker]
            answer = next((s.speaker for s in segments[index + 1 :]
                           if s.speaker != segment.speaker), None)  # fmt: skip
            addressee = others[0] if len(others) == 1 else answer
            found.append((addressee, greeted.group("a") or greeted.group("b")))
        for label, name in found:
            taken = {p.name for p in people.values() if p.named}
            person = people.get(label or "")
            if person is None or person.named or name in taken:
                continue
            if name.split()[0].lower() in _NOT_NAMES:
                continue
            people[person.label] = Person(person.label, name, person.role, True)


def _calls(name: str) -> list[str]:
    """What a participant may be called to their face: "Jo", "Mrs Patel", "Jo Baker"."""
    words = name.split()
    calls = [name, words[0]]
    if len(words) > 1 and words[0].rstrip(".").lower() in _TITLES:
        calls.append(words[-1])  # "Mrs Patel" is not called "Mrs"
        calls.remove(words[0])
    return [c for c in dict.fromkeys(calls) if len(c) > 1]


_INTRODUCES = r"\b(?:i'm|i am|my name is|my name's)\s+"


def _named_by_address(
    ordered: list[str], free: list[tuple[str, str]], transcript: Transcript
) -> list[tuple[str, tuple[str, str]]]:
    """Voices named by what was said: an introduction, or an answer when spoken to by name.

    A voice saying "I'm Jo", or starting "Ben Carter, Chloe's social worker." round the
    table, counts three; answering right after someone said "Marcus, …?", "Ben, you'll…"
    or "…, Marcus?" counts one. Each voice and each name is given once, surest
    first, and only where some voice has a sign for it.
    """
    if not ordered or not free:
        return []
    votes: Counter[tuple[str, tuple[str, str]]] = Counter()
    segments = transcript.segments
    for index, segment in enumerate(segments):
        text = segment.text.strip()
        for participant in free:
            for call in _calls(participant[0]):
                said = re.escape(call)
                to_someone = "?" in text or re.search(r"\byou(?:'ll|'re)?\b", text, re.IGNORECASE)
                introduced = re.search(_INTRODUCES + said + r"\b(?!['’]s)", text, re.IGNORECASE)
                if not introduced and call == participant[0] and " " in call and not to_someone:
                    # "Ben Carter, Chloe's social worker." round the table
                    introduced = re.match(rf"(?:{TITLE} )?{said},", text)
                if segment.speaker in ordered and introduced:
                    votes[(segment.speaker, participant)] += 3
                addressed = to_someone and (
                    re.match(rf"(?:{TITLE} )?{said},", text)
                    or re.search(rf",\s+{said}[?.!]$", text)
                )
                if addressed and index + 1 < len(segments):
                    answer = segments[index + 1].speaker
                    if answer in ordered and answer != segment.speaker:
                        votes[(answer, participant)] += 1
    chosen: list[tuple[str, tuple[str, str]]] = []
    for (label, participant), _count in votes.most_common():
        if all(label != lab and participant != par for lab, par in chosen):
            chosen.append((label, participant))
    return chosen
