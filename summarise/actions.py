"""Finding agreed actions in what was said: who will do what, by when."""

from __future__ import annotations

import re
from dataclasses import dataclass

from summarise.text import british_spelling, split_sentences, third_person

__all__ = [
    "ActionParts",
    "action_clauses",
    "extract_action",
    "is_action",
    "imperative_action",
    "requested_action",
    "restates_request",
    "is_task",
    "opens_on_cue",
    "task_list",
    "idle_promise",
    "condition",
    "deadline",
]

_CUE = re.compile(
    r"\b(?:i'll|i will|we'll|we will|you'll|you will|i'm going to|we're going to|"
    r"you're going to|i am going to|we are going to|going to (?:order|refer|schedule|"
    r"send|call|book|arrange|start|increase|decrease|prescribe|check|see|ring|visit|"
    r"contact)|let's|let us|i want you to|i'd like you to|i would like you to|"
    r"we need to|you need to|i need to|i'll be|agreed to|plan is to|follow up|follow-up|"
    r"refer|referral|arrange|come back|see you (?:in|next|back)|"
    # "book" and "schedule" are verbs only with what is booked: "the post office book" is not.
    r"(?:schedule|book) (?:a|an|the|her|him|them|it|in|into|you|me|us|myself|some|another|"
    r"that|this|his|their|your))\b",
    re.IGNORECASE,
)
_ORDINALS = (
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|"
    r"twentieth|twenty-\w+|thirtieth|thirty-first"
)
_WHEN = re.compile(
    r"\b(?:(?:by|on|before|until|next|this|within|in|after|for)\s+(?:the\s+)?"
    r"(?:(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|"
    r"twenty|twenty-four|thirty|forty-eight|seventy-two|a couple of|a few|\d+)\s+"
    r"(?:hours?|days?|weeks?|months?|years?)|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|week|month|year|weekend|end of (?:the )?(?:week|month)|"
    r"january|february|march|april|may|june|july|august|september|october|november|"
    r"december|\d{1,2}(?:st|nd|rd|th)?(?:\s+\w+)?|(?:" + _ORDINALS + r")(?: of (?:next|this) "
    r"month| of \w+)?)|tomorrow|today|tonight|"
    r"(?:this|tomorrow) (?:morning|afternoon|evening)|(?<=see you )(?:monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday)(?: at \w+)?|"
    r"later today|next time|straight away|right away|as soon as (?:possible|you can)|"
    r"straight after (?:this|the (?:meeting|visit|supervision))|"
    r"(?:at )?(?:the|my|our) next visit|"
    r"when (?:i|we) (?:come|get) back|(?:once|twice) (?:a|per) (?:day|week|month))\b",
    re.IGNORECASE,
)
_WHO = [
    (re.compile(r"^(?:i'll|i will|i'm going to|i am going to|i'd (?:also )?like to|"
                r"i would (?:also )?like to|i (?:also )?want to|i need to)\b",
                re.IGNORECASE), "speaker"),
    (re.compile(r"^(?:we'll|we will|we're going to|we are going to|let's|let us|we need to)\b",
                re.IGNORECASE), "both"),
    (re.compile(r"^(?:you'll|you will|you're going to|you are going to|you need to|"
                r"i want you to|i'd like you to|i would like you to)\b", re.IGNORECASE),
     "other"),
]  # fmt: skip


@dataclass(frozen=True)
class ActionParts:
    """An action pulled out of one utterance.

    Attributes:
        who: Who will do it.
        what: What will be done, in the speaker's words with the subject removed.
        by_when: When by, as said, or ``None``.
    """

    who: str
    what: str
    by_when: str | None


_CLAUSE_BREAK = re.compile(
    r"(?:,|;)?\s+(?:and|then|also)\s+(?=(?:i'll|i will|we'll|we will|you'll|you will|"
    r"i'm going to|we're going to)\b)|;\s+",
    re.IGNORECASE,
)
_REASON = re.compile(
    r",\s+(?:because|so that|so|which|in case|just so|(?:as )?soon as|once)\s+", re.IGNORECASE
)
_ASIDE = re.compile(
    r",?\s+and\s+(?!i\b|we\b|you\b|then\b|also\b)(?:the|it|that|this|there)\b[\w' ]*?\s+"
    r"(?:is|are|was|were|'s)\b",
    re.IGNORECASE,
)
# A cue inside what is asked or talked about, not promised: "where you'll live".
_ASKED_ABOUT = re.compile(r"\b(?:where|what|how|whether|who|which|when)\s+$", re.IGNORECASE)
_BREAK_IN_VISIT = re.compile(
    r"^(?:i'll|i will|we'll|we will)\s+(?:come|pop|be)\s+back\s+in\s+(?:a|one|two|five|ten|"
    r"fifteen|twenty|\d+|a few|a couple of)\s+minutes?\b",
    re.IGNORECASE,
)
# "We'll need the boyfriend's name for police checks": something wanted, no one's task.
_NEEDS_A_THING = re.compile(r"^need (?!to\b)", re.IGNORECASE)
_COME_BACK = re.compile(r"^(?:come back|pop back|pop round again|call round again)\b", re.I)
_FILLER_LEAD = re.compile(r"^(?:also|just|then|as well|too|definitely|probably)\s+", re.I)


def action_clauses(sentence: str) -> list[str]:
    """Split a sentence that states several actions into one clause per action.

    "I'll give you the number today, and we'll write a plan together" becomes two.
    """
    parts = [p.strip(" ,") for p in _CLAUSE_BREAK.split(sentence) if p and p.strip(" ,")]
    return [p for p in parts if is_action(p)] or [sentence]


# "I'd like to", "I want to": a plan when the professional says it ("I'd like to offer
# you a carer's assessment"), a wish when the person does ("I want to wash myself").
_INTENT = re.compile(
    r"\b(?:i'd (?:also |really )?like to|i would (?:also |really )?like to|i (?:also )?want to)\b",
    re.IGNORECASE,
)


def is_action(text: str, *, intent: bool = True) -> bool:
    """Return whether an utterance sounds like an agreed action or plan.

    Args:
        text: The utterance.
        intent: Whether "I'd like to" and "I want to" state a plan (they do from a
            professional; from the person they state a wish, which is not an action).
    """
    if _CUE.search(text) is not None:
        return True
    return intent and _INTENT.search(text) is not None


def extract_action(text: str, speaker: str, other: str) -> ActionParts | None:
    """Split an utterance into who / what / by when.

    Args:
        text: The cleaned utterance.
        speaker: How the note names the speaker ("The doctor").
        other: How the note names the person spoken to ("the patient").

    Returns:
        The parts, or ``None`` if no action is found.
    """
    cues = [m for m in (_CUE.search(text), _INTENT.search(text)) if m is not None]
    if not cues:
        return None
    match = min(cues, key=lambda m: m.start())
    if _ASKED_ABOUT.search(text[: match.start()]):
        return None  # "I've come to talk about where you'll live": what is asked about
    clause = text[match.start() :]
    if _BREAK_IN_VISIT.search(clause):
        return None  # "I'll come back in ten minutes": a break in the visit, no action
    # Keep the clause's own subject when it starts just before the cue ("i'll", "you'll").
    who = "Not stated"
    what = clause
    for pattern, role in _WHO:
        found = pattern.match(clause)
        if found:
            who = {"speaker": speaker, "both": f"{speaker} and {other}", "other": other}[role]
            what = clause[found.end() :]
            break
    what = re.split(r"(?<=[.?!])\s", what.strip())[0].strip(" ,.?!")
    what = _FILLER_LEAD.sub("", what)
    what = _REASON.split(what, maxsplit=1)[0]  # "…, because three days at work is a lot"
    what = _ASIDE.split(what, maxsplit=1)[0]  # "…, and the core group is on the third"
    what = re.sub(r",\s+(?-i:[A-Z][a-z'-]+)$", "", what)  # a name said last: ", Priya"
    # "Today I'll help you ring the bank": the time said just before the action is its own.
    lead = re.sub(r"^(?:and|so|then)\s+", "", text[: match.start()].strip(" ,"), flags=re.I)
    by_when = deadline(what) or (lead[0].lower() + lead[1:] if _WHEN.fullmatch(lead) else None)
    if who == other:  # "you'll wear your alarm": their own alarm
        what = re.sub(r"\byourself\b", "themselves", what, flags=re.IGNORECASE)
        what = re.sub(r"\byour\b", "their", what, flags=re.IGNORECASE)
    what = third_person(what, other)
    what = _COME_BACK.sub("visit again", what)
    when = condition(text[: match.start()])
    what = f"{what} {when}" if when and " if " not in what else what
    if len(what.split()) < 2 or _NEEDS_A_THING.match(what):
        return None
    what = british_spelling(what[0].upper() + what[1:])
    return ActionParts(who=who[0].upper() + who[1:], what=what, by_when=by_when)


# "Could you ring the surgery?", "Would you be willing to go to the bank…?",
# "Are you happy to keep the diary?": a request of the person spoken to, which becomes
# theirs to do once they accept it.
_ASKED = re.compile(
    r"^(?:(?:and|so|right|okay|ok|then|also|now)[, ]+)*(?:[A-Z][a-z'-]+,\s+)?"
    r"(?:(?:could|can|would|will) you"
    r"(?: please)?(?: be (?:willing|able|happy) to)?|are you (?:happy|willing|ok|okay|able)"
    r" to|would you mind|(?:could|can) we(?= aim (?:for|to)| try (?:to|and)))\s+"
    r"(?P<what>[^?]+)\?$",
    re.IGNORECASE,
)
# "Sandra, you said you'd ring the surgery?", "…, you'll ring your mum to have the kids?":
# checking that someone will do something, which their "yes" makes theirs.
_CONFIRMING = re.compile(
    r"(?:^|,\s+)(?:you said you'd|you said you would|you'll|you will|you're going to)"
    r"\s+(?P<what>[^?]+)\?$",
    re.IGNORECASE,
)
# Requests for information or for the visit itself, not actions.
_NOT_TASKS = re.compile(
    r"^(?:tell|show|talk (?:me|us)|talk to me|start|explain|describe|remember|say|"
    r"think of|hear|see|manage|"
    r"give me|walk me|go through|let me|repeat|read|spell|confirm|help me understand|"
    r"like|imagine|recall|understand|"
    # "Would you be happy for me to help you…?": asking leave, not giving a task
    r"be (?:happy|ok|okay|all right|alright|comfortable) (?:for|with) me\b|"
    r"mind (?:if )?(?:me|i)\b|"
    # "…ring the police and report him missing. Will you do that?": the instruction before
    # the question is the action, found on its own; "do that" says nothing of it.
    r"(?:do|try|manage) (?:that|this|it)$)\b",
    re.IGNORECASE,
)
_ACCEPTED = re.compile(
    r"^(?:yes|yeah|yep|aye|i will|i'll|i can(?!'t|not)|i could|ok|okay|of course|sure|fine|"
    r"will do|no problem|no worries|that's fine|course|definitely|absolutely|certainly|"
    r"happy to|i don't mind|we will|we'll|we can(?!'t|not))\b",
    re.IGNORECASE,
)
# Where a request's reason or aside begins: ", so I can chase the police".
_AFTERTHOUGHT = re.compile(
    r",?\s+(?:so that|so|because|as|which|one that|just so|in case|instead of)\s+",
    re.IGNORECASE,
)
_OBJECT_WORDS = re.compile(r"\b(?:them|that|it|this|him|her|those|you)\b", re.IGNORECASE)


# ", when I come back," inside a request: when it happens, said again, not what is done.
_WHEN_ASIDE = re.compile(r",\s+(?:when|once|after|while) [^,]+(?=,)", re.IGNORECASE)


def _accepts(answer: str) -> bool:
    """Whether a reply says yes, first or after echoing the request ("Monday. Aye, I can.")."""
    sentences = [s.strip() for s in split_sentences(answer) if s.strip()]
    if not sentences:
        return False
    if _ACCEPTED.match(sentences[0]):
        return True
    echoed = len(sentences[0].split()) <= 2 and not re.match(
        r"^(?:no|not|never)\b", sentences[0], re.IGNORECASE
    )
    return echoed and len(sentences) > 1 and bool(_ACCEPTED.match(sentences[1]))


# "And if the redness spreads or you get a temperature, you'll ring…": when to do it.
_CONDITION = re.compile(r"\b(?P<cond>(?:if|unless|whenever) [^,?]+?),?\s*$", re.IGNORECASE)


# "You" said to someone, as the note says it of them: "if you've been drinking" becomes
# "if they have been drinking". A bare "you" is left to the caller: subject or object.
_YOU_AS_THEY = (
    (r"\byou've\b", "they have"),
    (r"\byou're\b", "they are"),
    (r"\byou'd\b", "they would"),
    (r"\byourself\b", "themselves"),
    (r"\byour\b", "their"),
)


def condition(before: str) -> str:
    """The condition said before an action ("if you've been drinking"), in the third
    person ("if they have been drinking"), or ``""``."""
    found = _CONDITION.search(before)
    if found is None:
        return ""
    said = found.group("cond")
    for pattern, repl in (*_YOU_AS_THEY, (r"\byou\b", "they")):
        said = re.sub(pattern, repl, said, flags=re.IGNORECASE)
    return said[0].lower() + said[1:]


def requested_action(question: str, reply: str, asker: str) -> tuple[str, str | None] | None:
    """What someone agreed to do when asked: ``(what, by when)``, or ``None``.

    Args:
        question: The last sentence of the request ("Would you book a GP appointment
            about your back?").
        reply: The answer given by the person asked.
        asker: How the note names whoever asked (for "me" in the request).
    """
    found = _ASKED.match(question.strip()) or _CONFIRMING.search(question.strip())
    if found is None:
        return None
    when = condition(question.strip()[: found.start()])
    what = _AFTERTHOUGHT.split(found.group("what"), maxsplit=1)[0].strip(" ,")
    what = _WHEN_ASIDE.sub("", what)  # "…on Monday, when I come back, to order a card"
    if _NOT_TASKS.match(what) or len(what.split()) < 2:
        return None
    answer = reply.strip()
    if not _accepts(answer):
        return None
    asked_by = deadline(what)  # before "my next visit" becomes "Mark's next visit"
    for pattern, repl in (
        *_YOU_AS_THEY,
        (r"\byou'll\b", "they will"),
        # "…and the car if you see it": the one who sees is "they", not "them".
        (r"\b(if|when|whenever|unless|until|once|before|after|while|so|and|as) you\b", r"\1 they"),
        (r"\byou\b", "them"),
        (r"\bmyself\b", asker),
        (r"\bmy\b", asker + "'s"),
        (r"\bme\b", asker),
        (r"\bi\b", asker),
    ):
        what = re.sub(pattern, repl, what, flags=re.IGNORECASE)
    what = f"{what} {when}" if when else what
    # The time the person gives in saying yes ("I'll ring him tonight") is the deadline;
    # a day in the request may be what it is about ("to the temple on Sunday").
    what = british_spelling(what[0].upper() + what[1:])
    if asked_by:
        asked_by = re.sub(r"\bmy\b", asker + "'s", asked_by, flags=re.IGNORECASE)
    return what, deadline(answer) or asked_by


def restates_request(what: str, request: str | None = None) -> bool:
    """Whether an action said in reply to a request only restates it ("ring them").

    Args:
        what: The action said in reply.
        request: The action asked for, if known: a restatement does what it asks
            ("Ring them first thing" after "ring the GP"), not something else with a
            "that" in it ("I'll take that rug up").
    """
    words = [w for w in re.findall(r"[a-z']+", _WHEN.sub("", what).lower())]
    left = [w for w in words if not _OBJECT_WORDS.fullmatch(w)]
    if not _OBJECT_WORDS.search(what) or len(left) > 3:
        return False
    return request is None or bool(left) and left[0] in re.findall(r"[a-z']+", request.lower())


# "And report it to Action Fraud too": a professional telling someone what to do.
_IMPERATIVE = re.compile(
    r"^(?:(?:and|also|then|just|please|so)[, ]+)*(?P<what>(?:report|ring|call|phone|"
    r"contact|email|text|write to|book|send|bring|keep (?!going\b)|check|lock|wear|move|"
    r"ask|get in touch|make sure|go to|take (?!a seat|your time|care)|put in|fill in|"
    r"apply|register|cancel|change|stop|start|carry on|tell (?!me\b|us\b)|"
    r"smoke (?=at|outside|only|by|in the (?:kitchen|garden)))\b.*)$",
    re.IGNORECASE,
)


def opens_on_cue(sentence: str) -> bool:
    """Whether a sentence starts with what is to be done, with no one said to do it
    ("Book it, and you can shadow Bev")."""
    return _CUE.match(sentence.strip()) is not None


def imperative_action(sentence: str) -> str | None:
    """What an imperative sentence tells someone to do ("Report it to Action Fraud"), or
    ``None`` when the sentence is no instruction."""
    found = _IMPERATIVE.match(sentence.strip())
    if found is None or sentence.rstrip().endswith("?"):
        return None
    what = found.group("what").strip(" ,.!")
    what = re.sub(r"\s+(?:too|as well)$", "", what, flags=re.IGNORECASE)
    return what if len(what.split()) >= 3 else None


# What a person says they will do that is an action for the record even with no time
# given: ringing, booking, keeping a diary, moving the heater.
_OWN_TASK = re.compile(
    r"^(?:i'll|i will|i'm going to|i am going to)\s+(?:also |just |definitely |try (?:and|to) )?"
    r"(?:ring|call|phone|text|email|e-mail|write|book|go|take|keep|talk|speak|ask|tell|see|"
    r"sort|apply|fill|report|buy|bring|move|clear|wear|check|look|get|pay|pick|carry|give|"
    r"help|think|make|stop|visit|contact|let|send|cancel|change|start|arrange|find|put|use|"
    r"stay|drink|eat|sign|show|read|remind|chase|collect|open|lock|shut|leave)\b",
    re.IGNORECASE,
)
# "I'll ring you back" to a caller, "I'll tell you that now", "I'll think about it": talk,
# not a task.
# "I'm going to call her Biscuit": naming, not phoning.
_IDLE = re.compile(
    r"\b(?:(?:ring|call|phone) (?:you|them|him|her) back|tell you (?:that|this|what)|"
    r"tell you (?:when|next time|after)|think (?:about )?(?:it|that|this)(?: over)?\W*$|"
    r"see you (?:out|then|later|soon)|call (?:her|him|it|them|me) (?-i:[A-Z]))",
    re.IGNORECASE,
)


def idle_promise(clause: str) -> bool:
    """Whether a person's "I'll…" is no action for the record: no time given, and no
    task ("I'll have the kettle on", "I'll ring you back", "I'll tell you that now")."""
    text = clause.strip()
    if deadline(text) is not None:
        return False
    return _OWN_TASK.match(text) is None or _IDLE.search(text) is not None


# A task in a list of them said at once: "ring Gemma…, log the incident today, and book
# the course this week". Each begins with what is to be done.
_LIST_BREAK = re.compile(
    r"(?:,\s+(?:and\s+)?|\s+and\s+)(?=(?:ring|call|phone|text|email|write|book|take|talk|"
    r"speak|ask|tell|sort|apply|fill|report|send|check|look|get|give|make|visit|contact|"
    r"arrange|find|put|log|do|convene|refer|complete|chase|update|review|share|attend|"
    r"move|order|fit|set|start|bring)\b)",
    re.IGNORECASE,
)


def task_list(what: str) -> list[str]:
    """The tasks in ``what`` one by one, or ``[what]`` where it is one task.

    Three or more are a list; two are two tasks only when each has its own time ("…at
    two o'clock today and move two cases to Ellie this week"): "ring the fire service
    today and ask them to come back" is one errand.
    """
    parts = [p.strip(" ,") for p in _LIST_BREAK.split(what)]
    if len(parts) < 2 or any(len(p.split()) < 3 for p in parts):
        return [what]
    if len(parts) == 2 and not all(deadline(p) for p in parts):
        return [what]
    return [p[0].upper() + p[1:] for p in parts]


def is_task(what: str) -> bool:
    """Whether what someone is asked to do is a task, not a question ("show me your
    bedroom", "tell me what happened")."""
    return _NOT_TASKS.match(what.strip()) is None


# A day naming what happens on it: "the Tuesday club", "the Friday group".
_NAMED_BY_DAY = re.compile(
    r"^\s+(?:lunch |luncheon |coffee |drop-in |social )?(?:club|group|class|session|"
    r"café|cafe|service|clinic|market|meeting)s?\b",
    re.IGNORECASE,
)
_RECURRING = re.compile(r"^s?\s*(?:evenings?|mornings?|nights?|afternoons?)\b", re.IGNORECASE)


def deadline(text: str) -> str | None:
    """When something is to be done by, as said ("by Friday", "tonight"), or ``None``.

    A day said as when something happens every week ("a sitting service on Monday
    evenings") is not a deadline.
    """
    for when in _WHEN.finditer(text):
        if _RECURRING.match(text[when.end() :]):
            continue
        if re.match(r"for .*\bhours?$", when.group(0), re.IGNORECASE):
            continue  # "sit with him for two hours": how long, not by when
        if _NAMED_BY_DAY.match(text[when.end() :]):
            continue  # "transport for the Tuesday club": which club, not when
        return when.group(0)
    return None
