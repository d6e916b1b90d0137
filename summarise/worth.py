"""Which of the sentences said at a visit are worth writing up, and what they must keep.

Greetings, thanks, the tea, talk about the recording and the worker's words of support
tell how the visit went, not what it found; questions are written up with their
answers; actions are drafted as actions. What is left is written up, and a write-up
may not lose a sentence's names, numbers, dates, medicines or words of risk.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from summarise.grounding import critical_terms
from summarise.people import Person
from summarise.refusal import ALLOWED_NEW
from summarise.text import clean_utterance, content_words, split_sentences
from transcribe.types import Segment

__all__ = ["content_sentences", "is_social_housekeeping", "key_terms", "substantial"]

# Talk about the visit itself rather than its content.
_SOCIAL_HOUSEKEEPING = re.compile(
    r"\b(?:record(?:ing)?(?: this)?|notes are accurate|thanks? (?:you )?for (?:letting|having|"
    r"seeing|coming)|nice to (?:meet|see)|call me|that's fine|(?:write|writing) (?:up )?"
    r"(?:my|the) notes|what i've written|(?:stored|kept) (?:securely|safe(?:ly)?)|"
    r"deleted once|help me write (?:things|it|this) down|is it (?:still )?(?:all right|ok"
    r"|okay)|cup of tea\?|how are you(?: today)?\?|shall we (?:start|begin)|"
    r"instead of (?:scribbling|writing|taking notes|making notes)|(?:don't|do not) have to "
    r"(?:write|take notes|scribble))\b",
    re.IGNORECASE,
)
_THANKS = re.compile(r"^(?:thank(?:s| you)\b.*|that would be \w+|that must (?:be|have been) \w+|"
                     r"(?:i'm|i am) (?:so )?sorry to hear.*|that sounds (?:really |very )?\w+|"
                     r"(?:tell|talk) me (?:about|through|more)\b.*|"
                     r"(?:can|could) you (?:tell|talk) me\b.*|"
                     r"that's (?:great|lovely|wonderful|kind|really helpful)|"
                     r"no (?:problem|bother|worries)(?: at all)?|"
                     r"(?:can|could) you (?:imagine|believe it)|you know|mind you|"
                     r"there you go|there we are|bless (?:him|her)|"
                     r"(?:i'm|i am|i'm all|all) (?:fine|ok|okay|good|well|alright|all right)"
                     r"(?:,? (?:thanks|thank you|love|son|dear|pet))?|"
                     r"(?:yes|yeah|no|okay|ok|right|sure|fine|great|lovely)[.!]?)[.!]?$",
                     re.IGNORECASE)  # fmt: skip
# Greetings, introductions, the tea and the worker's words of support: how the visit
# went, not what it found. The note's heading records who was present.
_CHAT = re.compile(
    r"^(?:(?:and|so|well|oh|ooh|gosh|goodness|blimey|crikey|right)[, ]+)*(?:"
    r"(?:good (?:morning|afternoon|evening)|hello|hiya|hi)\b|"
    r"(?:morning|afternoon|evening)(?:[,!.]|\s+(?:mr|mrs|ms|miss|dr)\b|$)|"
    r"(?:mr|mrs|ms|miss|dr)\.? (?-i:[A-Z][a-z'-]+)\W*$|"  # "Mrs Walsh...", to catch her eye
    r"(?:oh,? )?(?:i'm |i am )?(?:so |really )?sorry(?:,? (?-i:[A-Z][a-z'-]+))?[.!]?$|"
    r"(?:i'm|i am|my name is) (?-i:[A-Z][a-z'-]+(?: [A-Z][a-z'-]+)?)(?:[,.!]|$| from\b)|"
    r"(?:i'd|i would) love (?:one|a cup)|milk,? (?:no|two|one) sugar|"
    r"(?:do )?come (?:on )?in(?:[,.!]|$)|"
    r"here's what (?:i'm|i am|we're|i'll|we'll|i think|i'd|i'm suggesting)\b|"
    r"(?:to|let me|can i|shall i|just to) (?:sum up|recap|run through)\b|"
    r"(?:so,? )?to sum up\b|"
    r"(?-i:[A-Z][a-z'-]+)(?:'s| is) fine(?:,? (?:thanks|love|dear))?[.!]?$|"
    r"(?:it's|it is|it was) (?:(?:a bit|so|really|very) )?(?:bitter|freezing|cold|lovely|"
    r"warm|hot|wet|grim|miserable|chilly|nippy|wild) (?:out there|outside|out|today)\b|"
    r"(?:(?:do )?(?:sit|sit yourself) down|take a seat|have a seat|make yourself "
    r"(?:comfortable|at home)|mind the (?:dog|cat|step))\b|"
    r"(?:i'm|i am) (?:so |really |very |ever so )?sorry (?:to hear|that|about|for)\b|"
    r"(?:sorry|excuse) (?:about |for )?(?:the|my) (?:mess|washing|state|noise|dog)[.!]?$|"
    r"sorry to (?:just )?(?:turn up|drop in|barge in|bother you|call)(?: like this)?[.!]?$|"
    r"(?:that|those) (?:all )?sounds?\b|it sounds like\b|"
    r"that must (?:be|have been)\b|that makes (?:sense|a lot of sense)\b|"
    r"you did (?:exactly )?the right thing\b|(?:it's|it is|that's|that is|it was) not your "
    r"fault\b|(?:that's|that is|it's|it is) (?:a )?(?:big|huge|lot|hard|difficult|tough)"
    r"(?: change| thing| lot| time| to take in| to deal with)?[.!]?$|"
    r"it happens to (?:a lot of|lots of|many) people\b|"
    r"(?:some|lots of|a lot of|many|most) (?:carers|people|parents|families|mums|dads) "
    r"(?:find|say|feel|tell me)\b|"
    r"(?:sometimes|often)(?: after [\w' ]+?)?,? (?:people|carers|parents|families) "
    r"(?:feel|find it) (?:quite |really |a bit |very )?(?:low|down|fed up|tired|guilty|angry|"
    r"overwhelmed|isolated|lonely|anxious|frustrated|hard|difficult)\b|"
    # The worker saying who they are: the note's heading records who was there.
    r"(?:i'm|i am) (?:a|the|your) [\w' -]{0,30}?(?:social worker|practitioner|nurse|"
    r"officer|coordinator|support worker|team manager)\b(?! (?:and|but) )|"
    r"(?:that's|that is|that would be) (?:really |very |so )?(?:important|understandable|"
    r"helpful|useful|good|great|brilliant|lovely|fine|ok|okay|all right)(?:[.!]?$|,? thank)|"
    r"(?:brilliant|lovely|great|perfect|wonderful|excellent|fantastic)[.!]?$|"
    r"thank you for (?:telling|sharing|being|explaining|talking)\b|"
    # The visit interrupted, or leave to write: "Hang on, that's the phone."
    r"hang on\b.*\b(?:phone|door|kettle)\b|(?:that's|there's) the (?:phone|door(?:bell)?)[.!]?$|"
    r"(?:write|put) (?:what|whatever) you (?:like|want|need)\b)",
    re.IGNORECASE,
)


def is_social_housekeeping(sentence: str) -> bool:
    """Whether a sentence is greeting, thanks or talk about recording the visit."""
    text = sentence.strip()
    return (
        bool(_THANKS.match(text))
        or bool(_SOCIAL_HOUSEKEEPING.search(text))
        or bool(_CHAT.match(text))
    )


def content_sentences(
    segment: Segment, is_action: Callable[[str, bool], bool], professional: bool
) -> list[str]:
    """The sentences of a segment worth writing up: not questions, chat or actions."""
    out = []
    raws = split_sentences(segment.text)
    for n, raw in enumerate(raws):
        sentence = clean_utterance(raw)
        if not sentence or sentence.endswith("?"):
            continue
        if professional and n + 1 < len(raws) and _leads_in(raw.strip(), raws[n + 1]):
            continue  # "And the other phone, Tyler. Who gave you that one?": the question's
        if len(sentence.split()) < 3 and not _carries_fact(sentence):
            continue
        if is_social_housekeeping(sentence) or is_action(sentence, professional):
            continue
        out.append(sentence)
    return out


def _leads_in(sentence: str, following: str) -> bool:
    """Whether a short sentence only leads into the question after it ("And the other
    phone, Tyler."), with no number, date or medicine of its own ("It says £310 overdue."
    is a finding, whatever follows it)."""
    terms = critical_terms(sentence)
    return (
        following.rstrip().endswith("?")
        and len(sentence.split()) <= 6
        and re.match(r"^(?:and|so|now|then|what about|how about)\b", sentence, re.I) is not None
        and not any(terms[k] for k in ("number", "date", "medication"))
    )


def _carries_fact(sentence: str) -> bool:
    """Whether a short sentence holds a number, a name, a date or a medicine."""
    terms = critical_terms(sentence)
    return any(terms[k] for k in ("number", "name", "date", "medication"))


def key_terms(sentence: str) -> set[str]:
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


def substantial(sentence: str, speaker: Person) -> bool:
    """Whether a sentence the model left out says enough to be quoted on its own.

    Pleasantries and encouragement ("That's really good to hear", "go on then") are
    not; a professional's words need more, since the model's write-up usually holds them.
    """
    words = content_words(sentence) - ALLOWED_NEW
    if speaker.professional:
        return len(sentence.split()) >= 10 and len(words) >= 5
    if len(sentence.split()) >= 6 and len(words) >= 3:
        return True
    # A short sentence of theirs with a word of substance is a finding ("Buttons are
    # hard.", "He's got my cash card.", "We haven't got a plan."); "Aye, go on." is not.
    return len(sentence.split()) >= 3 and bool(_substance(sentence))


# Words of talk rather than of substance, in a short sentence ("I suppose so", "Fine by
# me", "There's nowt to tell"); words of three letters or fewer count for nothing too.
_CHATTY = frozenset(
    "aye yeah fine suppose know think thinking mind right sure okay really honestly just "
    "only like start hang grief good well said tell told thing things then though always "
    "mostly maybe probably course lovely there what with from this that them they their "
    "have been going come dont didnt doing does done would could should cant wont isnt "
    "wasnt arent havent hasnt shes hes its thats theres were your youre mine ours here "
    "where when sorry thanks thank please love dear nowt owt sort sorts else ever never "
    "nothing something anything much many more most".split()
)


def _substance(sentence: str) -> list[str]:
    """The words of substance in a sentence."""
    words = (w.lower().replace("'", "") for w in re.findall(r"[A-Za-z][A-Za-z'-]+", sentence))
    return [w for w in words if len(w) >= 4 and w not in _CHATTY]
