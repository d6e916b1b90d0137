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
from summarise.refusal import ALLOWED_NEW, best_source, overlap, refusal, restore_pronoun
from summarise.served import ModelServerUnavailable
from summarise.text import british_spelling, clean_utterance, content_words, split_sentences
from summarise.types import NoteDrafter
from summarise.worth import content_sentences, is_social_housekeeping, key_terms, substantial
from transcribe.types import Segment

__all__ = [
    "WRITE_PROMPT_VERSION",
    "Written",
    "answer_only",
    "asked_in",
    "is_agreement",
    "write_statements",
]

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

_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|\(?[a-z]\))\s*")


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


def _question_before(segments: tuple[Segment, ...], index: int) -> Segment | None:
    """The turn just before, by someone else, when it asks a question in its last two
    sentences ("And money? Some carers find that a worry.")."""
    if index == 0:
        return None
    before = segments[index - 1]
    if before.speaker != segments[index].speaker and asked_in(before):
        return before
    return None


def asked_in(segment: Segment) -> str:
    """The last question of a turn, if it is one of its last two sentences, else ``""``;
    with the one before it when that is a question too ("And getting dressed? Meals?")."""
    sentences = [t.strip() for t in split_sentences(segment.text)]
    for n in range(len(sentences) - 1, max(-1, len(sentences) - 3), -1):
        if sentences[n].endswith("?"):
            if n > 0 and sentences[n - 1].endswith("?") and len(sentences[n].split()) <= 3:
                return f"{sentences[n - 1]} {sentences[n]}"
            return sentences[n]
    return ""


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


def _tidy(sentence: str) -> str:
    sentence = british_spelling(sentence[0].upper() + sentence[1:])
    return sentence if sentence.endswith((".", "!")) else sentence.rstrip(",;:") + "."


def _quoted(speaker: Person, raw: str) -> str:
    return f'{speaker.name} said: "{raw.strip()}"'


# A reply this short ("Two." "Three hours, maybe.") says nothing without its question.
_SHORT_REPLY_WORDS = 5
# An answer this short that the model wrote up ("The park by the leisure centre." as
# "Tyler said the park by the leisure centre") is quoted with its question instead.
_SHORT_ANSWER_WORDS = 6
# Short sentences quoted together ("My chest, I think. Or my waterworks.") keep the
# question they answer up to this many words.
_SHORT_RUN_WORDS = 12


def _quoted_reply(
    speaker: Person,
    raw: str,
    segment: Segment,
    question: Segment | None,
    cast: Cast,
    short: int = _SHORT_REPLY_WORDS,
) -> Written:
    """The speaker's words, quoted; a reply of up to ``short`` words with the question
    it answers."""
    if question is not None and len(raw.split()) <= short:
        asked = asked_in(question)
        return _question_and_answer(cast.person(question.speaker), asked, speaker, raw.strip(),
                                    (question, segment))  # fmt: skip
    return Written(_quoted(speaker, raw), (segment,), speaker, False)


# The question of a question-and-answer statement, and of an agreement, as written below.
_ASKED_PART = re.compile(r'\basked: "[^"]*"')
_AGREED = re.compile(r'\basked: "[^"]*\?" [^"]+ agreed\.$')


def answer_only(text: str) -> str:
    """A statement without the question it quotes ('X asked: "…?" Y said: "…"'): what
    was said in answer, not what was asked."""
    return _ASKED_PART.sub("asked:", text)


def is_agreement(text: str) -> bool:
    """Whether a statement is a question the others answered by agreeing."""
    return _AGREED.search(text) is not None


def _question_and_answer(
    asker: Person, asked: str, answerer: Person, said: str, cited: tuple[Segment, ...]
) -> Written:
    """A question and its answer, both quoted: an answer that means little alone."""
    text = f'{asker.name} asked: "{asked}" {answerer.name} said: "{said}"'
    return Written(text, cited, answerer, False)


def _echoes(sentence: str, before: str) -> bool:
    """Whether a short sentence only repeats words just said to the speaker."""
    words = content_words(sentence)
    return len(sentence.split()) <= 2 and bool(words) and words <= content_words(before)


def _sentence_before(segment: Segment, raw: str, short: int = _SHORT_REPLY_WORDS) -> str | None:
    """The sentence a short one follows on from in the same reply ("…the pneumonia." before
    "Ten days."), or ``None`` for a sentence that opens the reply or says enough alone."""
    raws = [r.strip() for r in split_sentences(segment.text)]
    if len(raw.split()) > short or raw.strip() not in raws:
        return None
    position = raws.index(raw.strip())
    if position == 0 or is_social_housekeeping(raws[position - 1]):
        return None
    return raws[position - 1]


def _sentences_before(segment: Segment, raw: str) -> list[str]:
    """The sentences a short one leans on, in the order said: the one before it and, while
    that one is short too, the one before that."""
    out: list[str] = []
    current = raw
    while (before := _sentence_before(segment, current)) is not None and before not in out:
        out.insert(0, before)
        if len(before.split()) > _SHORT_REPLY_WORDS:
            break
        current = before
    return out


def _opens(segment: Segment, raw: str) -> bool:
    """Whether ``raw`` opens the reply, and so answers the question before it."""
    raws = [r.strip() for r in split_sentences(segment.text)]
    return not raws or raw.strip().startswith(raws[0])


def _raw_sentence(segment: Segment, cleaned: str) -> str:
    """The sentence of the segment, exactly as transcribed, that a cleaned one came from."""
    words = content_words(cleaned)
    raws = split_sentences(segment.text) or [segment.text]
    return max(raws, key=lambda r: overlap(words, content_words(r)))


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
        sources = content_sentences(segment, is_action, cast.person(segment.speaker).professional)
        if index > 0:  # "Monday." "Ten." in reply to "…on Monday?" "…Monday at ten."
            sources = [x for x in sources if not _echoes(x, segments[index - 1].text)]
        answered = decisions.get(segments[index - 1].id) if index > 0 else None
        if answered is not None and _quotes_whole(answered, segment):
            sources = []  # the whole reply is quoted with its question
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
            written = _short_sentences_in_context(written, segment, question, sources, cast)
        covered = set().union(*(content_words(w.text) for w in written)) if written else set()
        said = " ".join(w.text for w in written)
        kept = key_terms(said)  # numbers as values: "three" in a reply is "3" here
        said = said.lower()
        for source in sources:
            lost = {t for t in key_terms(source) if not _says(said, t) and t not in kept}
            if not lost and overlap(content_words(source) - ALLOWED_NEW, covered) >= 0.6:
                continue
            if not lost and not substantial(source, speaker):
                continue
            raw = _raw_sentence(segment, source)
            if any(raw.strip() in w.text for w in written):
                continue
            replaced = {source}
            leaned_on = _sentences_before(segment, raw)
            for before in leaned_on:
                # "Ten days." after "I was in with my chest": quoted with what it follows;
                # "I didn't reply." with "Just 'I miss you both'." and the sentence that
                # one follows ("But he sent me a text on Friday night.").
                replaced.add(best_source(before, sources))
                written = [w for w in written if before.strip() not in w.text]
            if leaned_on:
                raw = " ".join([*(b.strip() for b in leaned_on), raw.strip()])
            # The speaker's own words replace the model's partial write-up of them.
            written = [
                w for w in written
                if not (w.by_model and len(sources) > 1
                        and best_source(w.text, sources) in replaced)
                and not (w.by_model and len(sources) == 1)
            ]  # fmt: skip
            # A reply's opening, short, is quoted with the question it answers.
            question_for = question if _opens(segment, raw) else None
            short = _SHORT_REPLY_WORDS if not leaned_on else _SHORT_RUN_WORDS
            written.append(_quoted_reply(speaker, raw, segment, question_for, cast, short))
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
    r"^(?:(?:(?:god|gosh|oh|lord),? )?(?:no|nope|never|not really|not at all|not once|"
    r"definitely not|certainly not|nothing like that|no way)"
    r"(?:,? (?:love|dear|pet|duck|mate|thanks|thank you|no|never|nothing like that))*[.!]?"
    r"\s*){1,3}$",
    re.IGNORECASE,
)
# A denial and what the person goes on to say with it are quoted whole up to this many
# words: "No. God, no. Nothing like that. It's not dying I want, it's... somewhere
# quiet." is the answer to a question about ending one's life; "No." alone is not.
_WHOLE_REPLY_WORDS = 45
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
    whole = reply.text.strip()
    if len(whole.split()) <= _WHOLE_REPLY_WORDS and whole.startswith(said[0]):
        said = [whole]
    asker, answerer = cast.person(question.speaker), cast.person(reply.speaker)
    return _question_and_answer(asker, last, answerer, " ".join(said), (question, reply))


def _short_sentences_in_context(
    written: list[Written],
    segment: Segment,
    question: Segment | None,
    sources: list[str],
    cast: Cast,
) -> list[Written]:
    """Short sentences the model wrote up are quoted with what gives them their meaning.

    A short answer ("The cardiology, yes." as "He said the cardiology was yes"; "We're
    all right." to "And money?") is quoted with the question it answers. A short sentence
    inside a reply that leans on the one before it ("All of it." after "…by Tuesday it's
    gone."; "It was scary." after "I woke up in the ambulance."; "Thirteen shots to two."
    after being "battered" at bowls) is quoted with that sentence: alone it says little,
    and the model guesses the rest ("All of it.", "He did before the hospital.").
    """
    out: list[Written] = []
    leaned_on: set[str] = set()  # sentences now quoted with the short one after them
    for w in written:
        source = best_source(w.text, sources)
        raw = _raw_sentence(segment, source)
        quoted = None
        short = len(raw.split()) <= _SHORT_ANSWER_WORDS
        if question is not None and short and _opens(segment, raw):
            quoted = _quoted_reply(w.speaker, raw, segment, question, cast, _SHORT_ANSWER_WORDS)
        elif w.by_model and _leans_on_before(raw):
            before = _sentence_before(segment, raw, _SHORT_ANSWER_WORDS)
            if before is not None and not before.endswith("?"):
                quoted = Written(_quoted(w.speaker, f"{before} {raw.strip()}"), (segment,),
                                 w.speaker, False)  # fmt: skip
                leaned_on.add(best_source(before, sources))
        if quoted is None:
            out.append(w)
        elif all(q.text != quoted.text for q in out):
            out.append(quoted)
    return [w for w in out if not (w.by_model and best_source(w.text, sources) in leaned_on)]


# A short sentence that needs the one before it: no subject of its own ("All of it.",
# "Worked in the end.", "Thirteen shots to two."), a subject that points back ("It was
# scary.", "Honestly, it's nothing."), or a verb left for the sentence before to supply
# ("I did before the hospital.").
_OPENERS = r"(?:(?:well|honestly|oh|yeah|yes|no|and|but|so|mind|mind you|still)[,.!]?\s+)*"
_NO_SUBJECT = re.compile(
    rf"^{_OPENERS}(?:all|some|none|both|most|half|every|each|only|just|maybe|probably|about|"
    r"around|at|on|in|for|with|since|after|before|until|till|from|not|never|always|"
    r"sometimes|once|twice|mostly|nearly|almost|\d[\d,.:]*|one|two|three|four|five|six|seven|"
    r"eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|"
    r"nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|[a-z]+ed)\b",
    re.IGNORECASE,
)
_POINTS_BACK = re.compile(rf"^{_OPENERS}(?:it|it's|that|that's|this|those|these)\b", re.IGNORECASE)
_BARE_AUXILIARY = re.compile(
    rf"^{_OPENERS}(?:i|he|she|we|they|you)\s+(?:did|do|does|can|could|will|would|have|had|"
    r"was|am)(?:\s+(?:not|too|so|still|once|before|then|now|again|though|anyway|by)\b.*)?"
    r"[.!]?$",
    re.IGNORECASE,
)


def _leans_on_before(raw: str) -> bool:
    """Whether a short sentence means little without the sentence before it."""
    text = raw.strip()
    if len(text.split()) > _SHORT_ANSWER_WORDS:
        return False
    return any(p.match(text) for p in (_POINTS_BACK, _BARE_AUXILIARY, _NO_SUBJECT))


def _says(text: str, term: str) -> bool:
    """Whether ``term`` is in ``text`` as a word of its own ("30" is not in "£230")."""
    return re.search(rf"(?<![\w.]){re.escape(term)}(?!\w)", text) is not None


def _quotes_whole(written: Written, reply: Segment) -> bool:
    """Whether a question-and-answer statement quotes all of ``reply``."""
    return reply in written.segments and f'"{reply.text.strip()}"' in written.text


def _position(written: Written, sources: list[str]) -> int:
    best = best_source(written.text, sources)
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
        if reason == "new-name" and asker is not None:
            # "I help him wash" written as "…helps Tom Bailey wash": the model took the
            # speaker's "him" for the person asking. The speaker's own pronoun goes back.
            restored = restore_pronoun(sentence, sources, asker)
            if restored != sentence and not refusal(restored, sources, context, speaker, cast):
                sentence, reason = restored, ""
        if reason:
            logger.debug("model sentence refused: %s", reason)
            continue
        words = content_words(sentence)
        if any(overlap(words, other) >= 0.8 for other in seen):
            continue  # a repeat, or a loop
        seen.append(words)
        cited: tuple[Segment, ...] = (segment,)
        if question is not None and (critical_terms(sentence)["number"] - _numbers(sources)):
            cited = (segment, question)
        kept.append(Written(_tidy(sentence), cited, speaker, True))
    return kept


def _numbers(sources: list[str]) -> set[str]:
    return critical_terms(" ".join(sources))["number"]
