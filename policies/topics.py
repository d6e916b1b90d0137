"""High-stakes topics: statements touching them are flagged for checking against the audio.

The list lives in ``policies/topics.toml`` and does not depend on the template.
Each topic is matched by its words and phrases, and some by a built-in detector
(numbers, dates, names, addresses) that looks at the shape of the text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from policies.errors import PolicyError
from policies.templates import default_policy_dir, read_toml

__all__ = [
    "DETECTORS",
    "Topic",
    "everyday_saying",
    "load_ordinary",
    "load_topics",
    "match_topics",
]

logger = logging.getLogger(__name__)

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    "eighty|ninety|hundred|thousand|half"
)

#: Built-in detectors a topic may name, by the shape of the text.
DETECTORS: dict[str, re.Pattern[str]] = {
    "numbers": re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE),
    "dates": re.compile(
        rf"\b(?:{_MONTHS}|{_DAYS}|tomorrow|yesterday|today|tonight|next week|last week|"
        r"next month|last month|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{4}-\d{2}-\d{2})\b",
        re.IGNORECASE,
    ),
    # A capitalised word that does not start the text or follow a full stop.
    "names": re.compile(r"(?<![.!?:]\s)(?<!^)\b(?!I\b)[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?\b"),
    "addresses": re.compile(
        r"\b\d+[a-z]?\s+\w+\s+(?:road|street|avenue|lane|close|drive|way|court|crescent|"
        r"place|gardens|terrace)\b|\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b",
        re.IGNORECASE,
    ),
}


@dataclass(frozen=True)
class Topic:
    """A high-stakes topic.

    Attributes:
        key: Short identifier used in flags (``"high-stakes:<key>"``).
        title: Human-readable name.
        terms: Words or phrases, matched case-insensitively at word starts
            (``"suicid"`` matches "suicide" and "suicidal").
        detector: Name of a built-in detector from :data:`DETECTORS`, or ``""``.
        examples: Sentences that say something of this topic in other words than its
            terms ("I went down in the kitchen" for falls). A statement close enough in
            meaning to one of them is flagged too, so that a risk put in everyday words
            is not missed.
    """

    key: str
    title: str
    terms: tuple[str, ...] = ()
    detector: str = ""
    examples: tuple[str, ...] = ()

    def matches(self, text: str) -> bool:
        """Return whether ``text`` touches this topic."""
        if self.detector and DETECTORS[self.detector].search(text):
            return True
        if not self.terms:
            return False
        plain = _IDIOMS.sub(" ", _DENIED.sub(" ", text))
        return any(
            not _NEGATED.search(plain, max(0, m.start() - 24), m.start())
            for m in _terms_pattern(self.terms).finditer(plain)
        )


# Everyday sayings that use a risk's words for something else: "bruised my pride",
# "fell asleep", "a fire in her belly", "I could kill for a cup of tea".
_IDIOMS = re.compile(
    r"\b(?:bruised (?:my|his|her|their|your|our) (?:pride|ego)|f[ae]ll(?:s|en|ing)? asleep|"
    r"fire in (?:my|his|her|their) belly|could (?:kill|murder) (?:for|a)\b|"
    r"fall(?:s|en|ing)? out with|fell out with|fell (?:in love|behind|through|apart)|"
    r"falls? (?:in love|behind|through)|kill(?:s|ing)? two birds|"
    r"(?:stock )?market(?:s)? fall|dying for a (?:cup|cuppa|brew|drink|wee)|"
    r"fire (?:service|brigade|station|officer)s?)\b",
    re.IGNORECASE,
)


def everyday_saying(text: str) -> bool:
    """Whether ``text`` holds a saying that uses a risk's words for something else
    ("I could murder a cup of tea", "kill two birds"): no risk to look into."""
    return _IDIOMS.search(text) is not None


# A term said as not having happened: "he didn't fall", "she has never fallen", "no
# bruises", "did not hit him". At most one word may stand between the negation and the
# term; terms that carry their own negation ("not taking", "no food in") start with it,
# so they are not affected.
_NEGATED = re.compile(r"(?:\b(?:not|never|no)|n't)\s+(?:\w+\s+)?$", re.IGNORECASE)

# A question about a risk answered with a plain no ("Any falls?" "No, not one."): the
# statement records that the risk was asked about and denied. The question is not
# matched; what the person went on to say still is.
_DENIED = re.compile(
    r'asked: "[^"]*\?"(?=[^"]*? said: "(?:(?:god|gosh|oh|lord),? )?(?:no|nope|never|none|'
    r"not really|not at all|not once|nothing like that)\b(?![ -](?:one|longer|more|way)\b|"
    r"t\b|'))",
    re.IGNORECASE,
)

_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _PATTERNS.get(terms)
    if pattern is None:
        alternatives = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in terms)
        pattern = re.compile(rf"\b(?:{alternatives})", re.IGNORECASE)
        _PATTERNS[terms] = pattern
    return pattern


def load_topics(path: str | Path | None = None) -> tuple[Topic, ...]:
    """Load and validate the high-stakes topics.

    Args:
        path: A topics TOML file. Defaults to ``$CARENOTES_POLICY_DIR/topics.toml`` when
            that variable is set, else the list shipped with carenotes.

    Returns:
        The topics, in file order.

    Raises:
        PolicyError: Naming the file and field at fault.
    """
    source = Path(path) if path is not None else default_policy_dir() / "topics.toml"
    data = read_toml(source)
    raw = data.get("topics")
    if not isinstance(raw, list) or not raw:
        raise PolicyError(f"{source}: field 'topics' is missing or empty; add [[topics]].")
    topics: list[Topic] = []
    for i, entry in enumerate(raw):
        where = f"{source}: topics[{i}]"
        if not isinstance(entry, dict):
            raise PolicyError(f"{where}: each [[topics]] entry must be a table.")
        key, title = entry.get("key"), entry.get("title")
        if not isinstance(key, str) or not re.match(r"^[a-z0-9-]+$", key):
            raise PolicyError(f"{where}: field 'key' must be lower-case words joined by '-'.")
        if not isinstance(title, str) or not title.strip():
            raise PolicyError(f"{where}: missing field 'title'; add it.")
        terms = entry.get("terms", [])
        if not isinstance(terms, list) or not all(isinstance(t, str) and t for t in terms):
            raise PolicyError(f"{where}: field 'terms' must be a list of words or phrases.")
        detector = entry.get("detector", "")
        if detector not in ("", *DETECTORS):
            raise PolicyError(
                f"{where}: field 'detector' is '{detector}'; use one of {', '.join(DETECTORS)}."
            )
        examples = entry.get("examples", [])
        if not isinstance(examples, list) or not all(
            isinstance(e, str) and e.strip() for e in examples
        ):
            raise PolicyError(f"{where}: field 'examples' must be a list of sentences.")
        if not terms and not detector:
            raise PolicyError(f"{where}: give 'terms' or a 'detector'.")
        if any(t.key == key for t in topics):
            raise PolicyError(f"{where}: field 'key': '{key}' is used twice.")
        topics.append(
            Topic(
                key=key,
                title=title.strip(),
                terms=tuple(t.lower() for t in terms),
                detector=detector,
                examples=tuple(e.strip() for e in examples),
            )
        )
    logger.info("loaded %d high-stakes topics from %s", len(topics), source)
    return tuple(topics)


def load_ordinary(path: str | Path | None = None) -> tuple[str, ...]:
    """Load the everyday sentences that touch no topic (the ``[ordinary]`` table).

    A statement is flagged by meaning only when it is closer to one of a topic's
    examples than to all of these.

    Args:
        path: A topics TOML file; defaults as for :func:`load_topics`.

    Returns:
        The sentences; empty when the file has no ``[ordinary]`` table.

    Raises:
        PolicyError: Naming the file and field at fault.
    """
    source = Path(path) if path is not None else default_policy_dir() / "topics.toml"
    table = read_toml(source).get("ordinary", {})
    examples = table.get("examples", []) if isinstance(table, dict) else None
    if not isinstance(examples, list) or not all(isinstance(e, str) and e for e in examples):
        raise PolicyError(f"{source}: field 'ordinary.examples' must be a list of sentences.")
    return tuple(e.strip() for e in examples)


def match_topics(text: str, topics: tuple[Topic, ...]) -> tuple[str, ...]:
    """Return the keys of the topics ``text`` touches, in topic order."""
    return tuple(t.key for t in topics if t.matches(text))
