"""The visit's agreed actions: who will do what, by when, each cited.

Actions come from the sentences that state them, split one action a clause: the owner
is the speaker ("I'll"), the person spoken to ("you'll"), both ("we'll") or whoever is
named ("Ben, you'll start…", "Priya will ring the bank"); by when is the time said, if
any. An action someone accepted when asked ("Could you ring the GP?" "Yes, I'll do
that.") is theirs, citing the question and the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from summarise.actions import (
    action_clauses,
    deadline,
    extract_action,
    idle_promise,
    imperative_action,
    is_action,
    is_task,
    opens_on_cue,
    requested_action,
    restates_request,
    task_list,
)
from summarise.people import TITLE, Cast
from summarise.text import clean_utterance, content_words, split_sentences
from summarise.types import Action, Citation
from summarise.worth import is_social_housekeeping
from transcribe.types import Segment

__all__ = ["agreed_actions", "citation", "states_action"]


def citation(segment: Segment) -> Citation:
    """The citation of one segment."""
    return Citation(segment.id, segment.start, segment.end, segment.speaker)


def _addressee(cast: Cast, segments: Sequence[Segment], index: int) -> str:
    """Who "you" is: the only other speaker, else the last one to speak before."""
    speaker = segments[index].speaker
    others = cast.others(speaker)
    if len(others) == 1:
        return others[0].name
    for step in (*range(index - 1, -1, -1), *range(index + 1, len(segments))):
        if segments[step].speaker and segments[step].speaker != speaker:
            return cast.person(segments[step].speaker).name
    return "the others present"


# The service someone speaks for: "Nadia, police will …", "Karen, the school will …".
_SERVICE = (
    r"(?:the \w+|police|the police|health|housing|education|school|the school|nursery|"
    r"probation|the trust|the council|\w+ (?:team|services?))"
)
_SERVICE_WILL = re.compile(rf"{_SERVICE} will\b\s*", re.IGNORECASE)
# Someone spoken to by name at the start of a sentence: "Win, I'll also ring your GP…".
_NAME_FIRST = rf"^(?P<name>(?:{TITLE} )?[A-Z][a-z'-]+(?: [A-Z][a-z'-]+)?),\s+"
_ADDRESSED = re.compile(_NAME_FIRST)
# "Ben, you'll start ..."; "Karen, the school will ..."; "Jo, could you help ...?"
_VOCATIVE = re.compile(
    _NAME_FIRST
    + r"(?P<rest>(?:you'll|you will|you're going to|could you|can you|would you|will you|"
    + rf"{_SERVICE} will)\b.*)$"
)
# "Priya will ring the bank tomorrow", said of someone present.
_NAMED_OWNER = re.compile(
    r"^(?P<name>[A-Z][a-z'-]+)(?: (?:will|'ll|is going to|has agreed to|agreed to|said "
    r"(?:she|he|they)'ll|said (?:she|he|they) will))\s+(?P<rest>.+)$"
)
_DANGLING = re.compile(
    r"\b(?:about|to|the|a|an|after|for|with|of|and|or|but|if|that|whether)$", re.IGNORECASE
)
_REQUEST = re.compile(r"^(?:could|can|would|will) you\s+", re.IGNORECASE)
_VAGUE = re.compile(
    r"^(?:(?:do|sort|manage) (?:that|it|this|those)|go (?:carefully|slowly|gently)|"
    r"take (?:it|things) (?:slowly|steady|easy)|"
    r"go at (?:[\w' -]+'s|your|his|her|their|our) (?:own )?pace|"
    r"keep (?:[\w']+ ){1,3}(?:the focus|in mind|at the centre|at the heart)|"
    r"see how (?:[\w']+ ){0,3}(?:go(?:es|ing)?|look(?:s|ing)?|get(?:s|ting)? on)|"
    r"leave (?:[\w']+ ){1,2}to (?:it|get on|[\w']+ (?:cereal|breakfast|lunch|tea|dinner|"
    r"food|game|programme|telly))|"
    # What the visit is for ("today I'd like to talk about whether to have carers"): its
    # subject, not something to be done after it.
    r"(?:talk|chat|speak) about (?:whether|what|how|why|where|who)\b)\b",
    re.IGNORECASE,
)


def _owner_name(vocative: str, cast: Cast) -> str:
    """The full name of someone addressed by part of their name ("Ben", "PC Oduya")."""
    bare = re.sub(rf"^{TITLE} ", "", vocative).lower()
    for name, _role in cast.participants:
        if name and bare in {w.lower() for w in name.split()} | {name.lower()}:
            return name
    for person in cast.people.values():
        if person.named and bare in {w.lower() for w in person.name.split()}:
            return person.name
    # A short form of a first name: "Win" for Winifred, "Stan" for Stanley.
    shortened = [
        name for name, _role in cast.participants
        if len(bare) >= 3 and " " not in bare and name
        and name.split()[0].lower().startswith(bare) and name.split()[0].lower() != bare
    ]  # fmt: skip
    return shortened[0] if len(shortened) == 1 else vocative


def agreed_actions(segments: Sequence[Segment], cast: Cast) -> list[tuple[Action, Segment]]:
    found: list[tuple[Action, Segment]] = []
    seen: list[set[str]] = []
    # The action someone accepted when asked, by the index of their reply.
    accepted: dict[int, Action] = {}
    for index, segment in enumerate(segments):
        speaker = cast.person(segment.speaker)
        other = _addressee(cast, segments, index)
        request = accepted.get(index)
        if request is not None:
            words = content_words(request.what)
            if not _repeats(words, seen):
                seen.append(words)
                found.append((request, segment))
            elif request.by_when:
                # "Priya, you'll ring the bank?" "Yes, I'll ring them first thing
                # tomorrow.": the action was found as asked; the answer gives its date.
                _date_undated(found, request, words)
        asked = _accepted_request(segments, index, cast)
        if asked is not None:
            accepted[index + 1] = asked
        for raw in split_sentences(segment.text):
            sentence = clean_utterance(raw)
            if not sentence or is_social_housekeeping(sentence):
                continue
            owner = other
            spoken_to = _ADDRESSED.match(sentence)
            addressed = _owner_name(spoken_to.group("name"), cast) if spoken_to else ""
            if spoken_to and addressed != spoken_to.group("name"):
                # "Win, I'll also ring your GP": "you" is Win, whoever spoke last.
                owner = addressed
                if not _VOCATIVE.match(sentence):
                    sentence = sentence[spoken_to.end() :]
            named = _NAMED_OWNER.match(sentence)
            if named and _owner_name(named.group("name"), cast) != named.group("name"):
                owner = _owner_name(named.group("name"), cast)
                sentence = "you'll " + named.group("rest")
            vocative = _VOCATIVE.match(sentence)
            if vocative:
                owner = _owner_name(vocative.group("name"), cast)
                sentence = vocative.group("rest")
                service = _SERVICE_WILL.match(sentence)
                if service:  # "Nadia, police will do a welfare check": Nadia's to do
                    sentence = "you'll " + sentence[service.end() :]
                if _REQUEST.match(sentence):
                    if not is_task(_REQUEST.sub("", sentence)):
                        continue  # "Tyler, could you show me your bedroom?"
                    sentence = _REQUEST.sub("you'll ", sentence)
                sentence = sentence.rstrip("?")
            told = imperative_action(sentence) if speaker.professional else None
            if told is not None and (not is_action(sentence) or opens_on_cue(sentence)):
                # An instruction goes to whoever the last action in this turn was for.
                same_turn = [a for a, seg in found if seg.id == segment.id]
                owner = same_turn[-1].who if same_turn else owner
                sentence = "you'll " + told
            if sentence.endswith("?") or not is_action(sentence, intent=speaker.professional):
                continue
            for clause in action_clauses(sentence):
                if vocative and _SERVICE_WILL.match(clause):
                    clause = "you'll " + clause.split(" will ", 1)[-1]
                if not speaker.professional and idle_promise(clause):
                    continue  # "I'll have the kettle on"
                parts = extract_action(clause, speaker.name, owner)
                if parts is None or len(parts.what.split()) < 3 or _VAGUE.match(parts.what):
                    continue
                if request is not None and restates_request(parts.what, request.what):
                    continue  # "I'll ring them on Monday": the request just accepted
                if found and restates_request(parts.what, found[-1][0].what):
                    last, last_segment = found[-1]
                    if last.who == parts.who and segment.id - last_segment.id <= 2:
                        # "…ring the bank. Ring them first thing tomorrow": one action.
                        if not last.by_when and parts.by_when:
                            found[-1] = (replace(last, by_when=parts.by_when), last_segment)
                        continue
                if _DANGLING.search(parts.what):
                    continue  # a clause cut off mid-thought is not an action
                who = parts.who
                if who == f"{speaker.name} and {owner}" and len(cast.others(segment.speaker)) > 1:
                    who = f"{speaker.name} and the others present"  # a meeting's "we'll"
                for what in task_list(parts.what):
                    # "You'll ring Gemma…, log the incident today and book the course this
                    # week": one action each, with its own time.
                    by_when = deadline(what) if what != parts.what else parts.by_when
                    action = Action(who, what, by_when, (citation(segment),))
                    words = content_words(what)
                    if _repeats(words, seen):
                        _date_undated(found, action, words)  # the recap gives its date
                        continue
                    if _said_more_fully(found, action, segment, words):
                        continue  # "Convene it for two o'clock", said again in full
                    seen.append(words)
                    found.append((action, segment))
    return _return_dated(found)


# An action that points back ("Convene it", "Ring her") says what it means when said again.
_BACK = ("it", "her", "him", "them", "that", "this", "those", "these")
_POINTS_BACK = re.compile(rf"^\w+ (?:{'|'.join(_BACK)})\b", re.IGNORECASE)
_BACK_WORDS = content_words(" ".join(_BACK))


def _said_more_fully(
    found: list[tuple[Action, Segment]], action: Action, segment: Segment, words: set[str]
) -> bool:
    """Put ``action`` in place of an earlier one of the same person's that it says in
    full ("Convene it for two o'clock" by "Convene the strategy discussion for Lily at
    two o'clock today"); whether one was replaced."""
    for n, (earlier, _where) in enumerate(found):
        before = content_words(earlier.what) - _BACK_WORDS  # "Ring her": "ring"
        if (earlier.who == action.who and before and before <= words
                and _POINTS_BACK.search(earlier.what)):  # fmt: skip
            citations = tuple(dict.fromkeys(earlier.citations + action.citations))
            fuller = replace(action, citations=citations,
                             by_when=action.by_when or earlier.by_when)  # fmt: skip
            found[n] = (fuller, segment)
            return True
    return False


# A date given as the next visit ("we'll write the plan together when I come back").
_AT_RETURN = re.compile(
    r"^(?:when (?:i|we) (?:come|get) back|next time|(?:at )?(?:the|my|our) next visit)$", re.I
)


def _return_dated(found: list[tuple[Action, Segment]]) -> list[tuple[Action, Segment]]:
    """Actions for "when I come back" dated by the one return visit agreed: "at the
    next visit, on the ninth of next month". With no return date, or more than one, the
    words stay as said."""
    visits = {
        a.by_when for a, _ in found
        if a.by_when and a.what.lower().startswith("visit again")
        and not _AT_RETURN.match(a.by_when)
    }  # fmt: skip
    if len(visits) != 1:
        return found
    date = visits.pop()
    return [
        (replace(a, what=_SAID_RETURN.sub("", a.what), by_when=f"at the next visit, {date}"), s)
        if a.by_when and _AT_RETURN.match(a.by_when) else (a, s)
        for a, s in found
    ]  # fmt: skip


# The return said in the action's words, now in its date: "…together when they come back".
_SAID_RETURN = re.compile(
    r",?\s+(?:when (?:i|we|they) (?:come|get) back|next time|at (?:the|my|our|their) next visit)$",
    re.I,
)


def states_action(sentence: str, professional: bool) -> bool:
    """Whether a sentence is written up as an action rather than as a statement."""
    if is_action(sentence, intent=professional):
        return True
    service = _VOCATIVE.match(sentence.strip())
    if service and _SERVICE_WILL.match(service.group("rest")):
        return True  # "Nadia, police will do a welfare check at the flat tonight"
    return professional and imperative_action(sentence) is not None


def _date_undated(found: list[tuple[Action, Segment]], again: Action, words: set[str]) -> None:
    """Give the undated action that ``again`` repeats, for the same person, its date: the
    answer to a request, or the closing recap, gives it."""
    for n in range(len(found) - 1, -1, -1):
        action, segment = found[n]
        if action.who == again.who and _repeats(words, [content_words(action.what)]):
            if not action.by_when:
                found[n] = (replace(action, by_when=again.by_when), segment)
            return


def _repeats(words: set[str], seen: list[set[str]]) -> bool:
    """Whether an action's words are mostly those of one already found."""
    return any(len(words & s) >= 0.8 * max(1, len(words)) for s in seen)


def _accepted_request(segments: Sequence[Segment], index: int, cast: Cast) -> Action | None:
    """The action asked of someone at ``index`` that they accept in the next reply."""
    if index + 1 >= len(segments):
        return None
    segment, reply = segments[index], segments[index + 1]
    if not reply.speaker or reply.speaker == segment.speaker:
        return None
    # The request is the turn's last question ("Would you talk to Paul…? We can fill in
    # a plan together."), whatever follows it.
    questions = [s for s in split_sentences(segment.text) if s.rstrip().endswith("?")]
    if not questions:
        return None
    asker = cast.person(segment.speaker).name
    found = requested_action(clean_utterance(questions[-1]), reply.text, asker)
    if found is None:
        return None
    what, by_when = found
    owner = cast.person(reply.speaker).name
    return Action(owner, what, by_when, (citation(segment), citation(reply)))
