"""The language model writes the note's sentences; nothing it writes is trusted.

The visit is taken one reply at a time: each thing a participant said (with the
question it answers, so "he" and "it" can be understood) is given to the model, which
writes it as short third-person sentences in a case note's register, naming people as
the participants list names them. Every sentence it returns is then checked against
the words it rests on, independently of the model: names, numbers, dates, medicines
and negation must match, it may add no new content of its own, and it must be a
statement about what was said. A sentence that fails is replaced by the speaker's own
words, quoted and cited; whatever the model left out is added the same way, so nothing
said is lost and nothing unsaid is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from summarise.grounding import critical_terms
from summarise.people import Cast, Person
from summarise.rewrite import MARKUP
from summarise.served import ModelServerUnavailable
from summarise.text import british_spelling, clean_utterance, content_words, split_sentences
from summarise.types import NoteDrafter
from transcribe.types import Segment

__all__ = ["WRITE_PROMPT_VERSION", "Written", "is_social_housekeeping", "write_statements"]

logger = logging.getLogger(__name__)

#: Version of the writing prompt; recorded in every draft. Change it when it changes.
WRITE_PROMPT_VERSION = "write-2026.12-1"

_SYSTEM = (
    "You turn what was said in a social care visit into sentences for a case note. "
    "Write in the third person, in plain professional British English. Keep every fact, "
    "name, number, time and medicine exactly as said, and add nothing that was not said. "
    "Name the speaker as given. Keep 'he', 'she', 'him' and 'her' for the people the "
    "speaker meant; do not guess who they are. Write one short sentence per line. Leave "
    "out greetings, thanks and talk about recording."
)
_EXAMPLE_IN = (
    'Question from Sarah Okafor (social worker): "How have you been managing the stairs?"\n'
    "Reply from Mrs Patel (person): \"Not well. I've been sleeping on the settee for three "
    "weeks now. My husband Dev does the shopping, but he can't manage the stairs either, "
    "and I haven't had my blood pressure tablets since Monday.\""
)
_EXAMPLE_OUT = (
    "Mrs Patel said she has not been managing the stairs well.\n"
    "She has been sleeping on the settee for three weeks.\n"
    "Her husband Dev does the shopping, but he cannot manage the stairs either.\n"
    "Mrs Patel has not had her blood pressure tablets since Monday."
)

# Talk about the visit itself rather than its content.
_SOCIAL_HOUSEKEEPING = re.compile(
    r"\b(?:record(?:ing)?(?: this)?|notes are accurate|thanks? (?:you )?for (?:letting|having|"
    r"seeing|coming)|nice to (?:meet|see)|call me|that's fine|is it (?:still )?(?:all right|ok"
    r"|okay)|come in|cup of tea\?|how are you(?: today)?\?|shall we (?:start|begin))\b",
    re.IGNORECASE,
)
_THANKS = re.compile(r"^(?:thank(?:s| you)\b.*|that would be \w+|that must (?:be|have been) \w+|"
                     r"(?:i'm|i am) (?:so )?sorry to hear.*|that sounds (?:really |very )?\w+|"
                     r"(?:tell|talk) me (?:about|through|more)\b.*|"
                     r"(?:can|could) you (?:tell|talk) me\b.*|"
                     r"that's (?:great|lovely|wonderful|kind|really helpful)|"
                     r"(?:yes|yeah|no|okay|ok|right|sure|fine|great|lovely)[.!]?)[.!]?$",
                     re.IGNORECASE)  # fmt: skip
# Greetings, introductions, the tea and the worker's words of support: how the visit
# went, not what it found. The note's heading records who was present.
_CHAT = re.compile(
    r"^(?:(?:and|so|well|oh|right)[, ]+)*(?:"
    r"(?:good (?:morning|afternoon|evening)|hello|hiya|hi)\b|"
    r"(?:i'm|i am|my name is) (?-i:[A-Z][a-z'-]+(?: [A-Z][a-z'-]+)?)(?:[,.!]|$| from\b)|"
    r"(?:i'd|i would) love (?:one|a cup)|milk,? (?:no|two|one) sugar|"
    r"(?:(?:do )?(?:sit|sit yourself) down|take a seat|have a seat|make yourself "
    r"(?:comfortable|at home)|mind the (?:dog|cat|step))\b|"
    r"(?:i'm|i am) (?:so |really |very |ever so )?sorry (?:to hear|that|about|for)\b|"
    r"(?:that|those) (?:all )?sounds?\b|it sounds like\b|"
    r"that must (?:be|have been)\b|that makes (?:sense|a lot of sense)\b|"
    r"you did (?:exactly )?the right thing\b|(?:it's|it is|that's|that is|it was) not your "
    r"fault\b|(?:that's|that is|it's|it is) (?:a )?(?:big|huge|lot|hard|difficult|tough)"
    r"(?: change| thing| lot| time| to take in| to deal with)?[.!]?$|"
    r"it happens to (?:a lot of|lots of|many) people\b|"
    r"(?:that's|that is|that would be) (?:really |very |so )?(?:important|understandable|"
    r"helpful|useful|good|great|brilliant|lovely|fine|ok|okay|all right)(?:[.!]?$|,? thank)|"
    r"(?:brilliant|lovely|great|perfect|wonderful|excellent|fantastic)[.!]?$|"
    r"thank you for (?:telling|sharing|being|explaining|talking)\b)",
    re.IGNORECASE,
)
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
_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|\(?[a-z]\))\s*")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:['-][A-Za-z]+)?\b")
_NOT_NAMES = {
    "The", "They", "Their", "She", "He", "His", "Her", "It", "This", "That", "There",
    "Mr", "Mrs", "Ms", "Miss", "Dr", "Mum", "Dad", "Nan", "Gran", "English", "British",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "GP",
    "When", "While", "After", "Before", "If", "But", "And", "So", "Both", "Last", "Next",
}  # fmt: skip
# Words a sentence may use beyond what was said: the frame, pronouns, small verbs.
_ALLOWED_NEW = content_words(
    "said says told explained described reported added mentioned stated confirmed asked "
    "agreed feels felt they their them themselves he she his her him hers has have had "
    "was were is are been being also that this which who would will can could does did "
    "not cannot about since there person social worker carer parent child family member "
    "daughter son wife husband mother father brother sister sometimes currently usually "
    "well manage managing managed answered replied recalled added"
)
_MAX_NEW_WORDS = 1


@dataclass(frozen=True)
class Written:
    """One statement written from what was said.

    Attributes:
        text: The sentence for the note.
        segments: The segments it rests on (the reply first).
        speaker: Who said what it reports.
        by_model: Whether the model wrote it (``False``: the speaker's words, quoted).
    """

    text: str
    segments: tuple[Segment, ...]
    speaker: Person
    by_model: bool


def is_social_housekeeping(sentence: str) -> bool:
    """Whether a sentence is greeting, thanks or talk about recording the visit."""
    text = sentence.strip()
    return (
        bool(_THANKS.match(text))
        or bool(_SOCIAL_HOUSEKEEPING.search(text))
        or bool(_CHAT.match(text))
    )


def _content_sentences(
    segment: Segment, is_action: Callable[[str, bool], bool], professional: bool
) -> list[str]:
    """The sentences of a segment worth writing up: not questions, chat or actions."""
    out = []
    for raw in split_sentences(segment.text):
        sentence = clean_utterance(raw)
        if not sentence or sentence.endswith("?"):
            continue
        if len(sentence.split()) < 3 and not _carries_fact(sentence):
            continue
        if is_social_housekeeping(sentence) or is_action(sentence, professional):
            continue
        out.append(sentence)
    return out


def _carries_fact(sentence: str) -> bool:
    """Whether a short sentence holds a number, a name, a date or a medicine."""
    terms = critical_terms(sentence)
    return any(terms[k] for k in ("number", "name", "date", "medication"))


def _key_terms(sentence: str) -> set[str]:
    """The words of a sentence that a write-up must not lose."""
    terms = critical_terms(sentence)
    words = {w for k in ("number", "name", "date", "medication") for w in terms[k]}
    words |= {w for w in re.findall(r"[a-z]+", sentence.lower()) if w in _RISK_WORDS}
    return words


_RISK_WORDS = {
    "seizure", "seizures", "fall", "fell", "bruise", "bruises", "gas", "fire", "missing",
    "pin", "police", "hospital", "ambulance", "overdose", "knife", "drunk", "debt",
    "suicidal", "scared", "frightened", "hit", "pushed", "threatened", "locked",
    # How someone says they are coping: a carer's "I'm tired, I won't lie" is a finding.
    "tired", "exhausted", "worried", "lonely", "struggling", "pain", "hurt", "low",
}  # fmt: skip


def _substantial(sentence: str, speaker: Person) -> bool:
    """Whether a sentence the model left out says enough to be quoted on its own.

    Pleasantries and encouragement ("That's really good to hear", "go on then") are
    not; a professional's words need more, since the model's write-up usually holds them.
    """
    words = content_words(sentence) - _ALLOWED_NEW
    if speaker.professional:
        return len(sentence.split()) >= 10 and len(words) >= 5
    return len(sentence.split()) >= 6 and len(words) >= 3


def _question_before(segments: tuple[Segment, ...], index: int) -> Segment | None:
    if index == 0:
        return None
    before = segments[index - 1]
    if before.speaker != segments[index].speaker and before.text.rstrip().endswith("?"):
        return before
    return None


def _messages(asker: Person | None, question: str, speaker: Person, reply: str) -> list[dict]:
    def who(person: Person) -> str:
        return f"{person.name} ({person.role})" if person.named and person.role else person.name

    lines = []
    if asker is not None and question:
        lines.append(f'Question from {who(asker)}: "{question}"')
    lines.append(f'Reply from {who(speaker)}: "{reply}"')
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": _EXAMPLE_IN},
        {"role": "assistant", "content": _EXAMPLE_OUT},
        {"role": "user", "content": "\n".join(lines)},
    ]


def _lines(reply: str) -> Iterator[str]:
    for line in reply.replace("\r", "\n").split("\n"):
        line = _BULLET.sub("", line).strip().strip('"').strip()
        if not line:
            continue
        yield from (s.strip() for s in split_sentences(line) if s.strip())


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a))


def _best_source(sentence: str, sources: list[str]) -> str:
    words = content_words(sentence)
    return max(sources, key=lambda s: _overlap(words, content_words(s)))


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
    best = _best_source(sentence, sources)
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
    if '"' in sentence or "“" in sentence:
        return "quote-marks"  # quoting is done from the transcript, never by the model
    others = {p.name for p in cast.others(speaker.label) if p.named}
    for name in others:
        if sentence.startswith(name) and name.split()[0].lower() not in reply.lower():
            return "wrong-speaker"
        if re.match(rf"{re.escape(name)} (?:said|says|told|asked|explained|reported)\b", sentence):
            return "wrong-speaker"  # the reply is the speaker's, not someone else's
    new = content_words(sentence) - content_words(said) - _ALLOWED_NEW
    new -= content_words(speaker.name)
    if len(new) > _MAX_NEW_WORDS:
        return "new-words"
    if _overlap(content_words(sentence) - _ALLOWED_NEW, content_words(reply)) < 0.5:
        return "not-from-reply"
    return ""


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


def _tidy(sentence: str) -> str:
    sentence = british_spelling(sentence[0].upper() + sentence[1:])
    return sentence if sentence.endswith((".", "!")) else sentence.rstrip(",;:") + "."


def _quoted(speaker: Person, raw: str) -> str:
    return f'{speaker.name} said: "{raw.strip()}"'


# A reply this short ("Two." "Three hours, maybe.") says nothing without its question.
_SHORT_REPLY_WORDS = 5


def _quoted_reply(
    speaker: Person, raw: str, segment: Segment, question: Segment | None, cast: Cast
) -> Written:
    """The speaker's words, quoted; a short reply with the question it answers."""
    if question is not None and len(raw.split()) <= _SHORT_REPLY_WORDS:
        asked = split_sentences(question.text)[-1].strip()
        asker = cast.person(question.speaker)
        text = f'{asker.name} asked: "{asked}" {speaker.name} said: "{raw.strip()}"'
        return Written(text, (question, segment), speaker, False)
    return Written(_quoted(speaker, raw), (segment,), speaker, False)


def _raw_sentence(segment: Segment, cleaned: str) -> str:
    """The sentence of the segment, exactly as transcribed, that a cleaned one came from."""
    words = content_words(cleaned)
    raws = split_sentences(segment.text) or [segment.text]
    return max(raws, key=lambda r: _overlap(words, content_words(r)))


def write_statements(
    segments: tuple[Segment, ...],
    cast: Cast,
    drafter: NoteDrafter | None,
    is_action: Callable[[str, bool], bool],
    progress: Callable[[float], None] | None = None,
) -> tuple[list[Written], int, int]:
    """Write up everything said in ``segments`` as checked, cited statements.

    Args:
        segments: The transcript's segments in order.
        cast: Who is who.
        drafter: The language model; ``None`` writes the speakers' words quoted.
        is_action: Tells sentences that state an action (written up as actions), given
            whether a professional said them.
        progress: Called with the fraction done.

    Returns:
        The statements in the order said, the model calls made, and the sentences the
        model wrote that passed the checks.
    """
    report = progress or (lambda fraction: None)
    jobs = []
    decisions: dict[int, Written] = {}
    for index, segment in enumerate(segments):
        sources = _content_sentences(segment, is_action, cast.person(segment.speaker).professional)
        if sources:
            jobs.append((segment, _question_before(segments, index), sources))
        agreed = _agreement(segments, index, cast)
        if agreed is not None:
            decisions[segment.id] = agreed
    out: list[Written] = []
    calls = accepted = 0
    for done, (segment, question, sources) in enumerate(jobs, start=1):
        for sid in [k for k in decisions if k < segment.id]:
            out.append(decisions.pop(sid))
        speaker = cast.person(segment.speaker)
        written: list[Written] = []
        if drafter is not None:
            calls += 1
            written = _ask(drafter, segment, question, sources, speaker, cast)
        covered = set().union(*(content_words(w.text) for w in written)) if written else set()
        said = " ".join(w.text for w in written)
        kept = _key_terms(said)  # numbers as values: "three" in a reply is "3" here
        said = said.lower()
        for source in sources:
            lost = {t for t in _key_terms(source) if t not in said and t not in kept}
            if not lost and _overlap(content_words(source) - _ALLOWED_NEW, covered) >= 0.6:
                continue
            if not lost and not _substantial(source, speaker):
                continue
            raw = _raw_sentence(segment, source)
            if any(raw.strip() in w.text for w in written):
                continue
            # The speaker's own words replace the model's partial write-up of them.
            written = [
                w for w in written
                if not (w.by_model and len(sources) > 1 and _best_source(w.text, sources) == source)
                and not (w.by_model and len(sources) == 1)
            ]  # fmt: skip
            written.append(_quoted_reply(speaker, raw, segment, question, cast))
            covered |= content_words(raw)
        accepted += sum(w.by_model for w in written)  # those the speaker's words did not replace
        out.extend(sorted(written, key=lambda w: _position(w, sources)))
        report(done / len(jobs))
    out.extend(decisions.values())
    return out, calls, accepted


_AFFIRMATIVE = re.compile(
    r"^(?:(?:yes|yeah|yep|agreed|i agree|we agree|absolutely|definitely|that's right|"
    r"correct)[,.!]?\s*)+$",
    re.IGNORECASE,
)


def _agreement(segments: tuple[Segment, ...], index: int, cast: Cast) -> Written | None:
    """A question the others answered only by agreeing: a decision, quoted as asked."""
    question = segments[index]
    if not question.text.rstrip().endswith("?") or len(question.text.split()) < 6:
        return None
    replies = []
    for later in segments[index + 1 :]:
        if later.speaker == question.speaker or not _AFFIRMATIVE.match(later.text.strip()):
            break
        replies.append(later)
    if not replies:
        return _denial(segments, index, cast)
    asker = cast.person(question.speaker)
    names = list(dict.fromkeys(cast.person(r.speaker).name for r in replies))
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    last = split_sentences(question.text)[-1]
    text = f'{asker.name} asked: "{last}" {who} agreed.'
    return Written(text, (question, *replies), asker, False)


# "No, love. Never." — a plain no to a yes-or-no question, such as a screening question
# about harm: it is only a record with the question it answers.
_DENIAL = re.compile(
    r"^(?:(?:no|nope|never|not really|not at all|not once|definitely not|certainly not)"
    r"(?:,? (?:love|dear|pet|duck|mate|thanks|thank you|no|never))*[.!]?\s*){1,3}$",
    re.IGNORECASE,
)
_YES_NO = re.compile(
    r"\b(?:have|has|had|do|does|did|are|is|was|were|will|would|could|can)\s+(?:you|he|she|"
    r"they|anyone|anybody)\b",
    re.IGNORECASE,
)


def _denial(segments: tuple[Segment, ...], index: int, cast: Cast) -> Written | None:
    """A yes-or-no question answered with a plain no: kept as the question and the answer."""
    question = segments[index]
    if index + 1 >= len(segments) or not question.text.rstrip().endswith("?"):
        return None
    reply = segments[index + 1]
    if reply.speaker == question.speaker:
        return None
    said = []
    for sentence in split_sentences(reply.text):  # "No, love. Never. I'm fed up, not daft."
        if not _DENIAL.match(sentence.strip()):
            break
        said.append(sentence.strip())
    if not said:
        return None
    last = split_sentences(question.text)[-1]
    if len(last.split()) < 5 or not _YES_NO.search(last):
        return None
    asker, answerer = cast.person(question.speaker), cast.person(reply.speaker)
    text = f'{asker.name} asked: "{last}" {answerer.name} said: "{" ".join(said)}"'
    return Written(text, (question, reply), answerer, False)


def _position(written: Written, sources: list[str]) -> int:
    best = _best_source(written.text, sources)
    return sources.index(best)


def _ask(
    drafter: NoteDrafter,
    segment: Segment,
    question: Segment | None,
    sources: list[str],
    speaker: Person,
    cast: Cast,
) -> list[Written]:
    context = clean_utterance(question.text) if question is not None else ""
    asker = cast.person(question.speaker) if question is not None else None
    reply_text = " ".join(sources)
    messages = _messages(asker, context, speaker, reply_text)
    budget = min(320, 2 * len(reply_text.split()) + 40)
    try:
        reply = drafter.generate(messages, max_new_tokens=budget)
    except ModelServerUnavailable:
        raise  # the server is down: fail the job so it is retried, not drafted without it
    except Exception as exc:  # noqa: BLE001 - a broken model must not break the draft
        logger.warning("language model call failed: %s", type(exc).__name__)
        return []
    if not isinstance(reply, str):
        return []
    kept: list[Written] = []
    seen: list[set[str]] = []
    for sentence in _lines(reply):
        reason = refusal(sentence, sources, context, speaker, cast)
        if reason:
            logger.debug("model sentence refused: %s", reason)
            continue
        words = content_words(sentence)
        if any(_overlap(words, other) >= 0.8 for other in seen):
            continue  # a repeat, or a loop
        seen.append(words)
        cited: tuple[Segment, ...] = (segment,)
        if question is not None and (critical_terms(sentence)["number"] - _numbers(sources)):
            cited = (segment, question)
        kept.append(Written(_tidy(sentence), cited, speaker, True))
    return kept


def _numbers(sources: list[str]) -> set[str]:
    return critical_terms(" ".join(sources))["number"]
