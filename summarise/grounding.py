"""The grounding check: is each statement supported by the transcript text it cites?

This check does not use the language model. It compares a statement with its cited
segments: numbers, names, dates, negations and medication words in the statement must
appear in the cited text, and the two must be close in meaning (all-MiniLM-L6-v2).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from policies.topics import Topic, match_topics
from summarise.text import CARDINALS, COMPOUND_NUMBER, ORDINALS

__all__ = [
    "SUPPORT_THRESHOLD",
    "Grounding",
    "check_grounding",
    "critical_terms",
    "embed",
    "embed_fixed",
    "similarities",
    "topics_by_meaning",
]

#: Statements scoring below this are flagged ``"unsupported"``.
SUPPORT_THRESHOLD = 0.45

_NUMBER_WORDS = {w: str(n) for w, n in (CARDINALS | ORDINALS).items()} | {
    "zero": "0", "hundred": "100", "thousand": "1000", "once": "1", "twice": "2",
    "single": "1", "couple": "2", "half": "0.5",
}  # fmt: skip
_NEGATIONS = re.compile(
    r"\b(?:not|never|no|none|nobody|nothing|neither|nor|without|denies|denied|deny|"
    r"cannot|can't|won't|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|haven't|hasn't|"
    r"hadn't|wouldn't|couldn't|shouldn't|n't|negative|absent|free of)\b",
    re.IGNORECASE,
)
_MONTHS_DAYS = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|"
    r"yesterday|today|tonight|weekend|christmas|easter)\b",
    re.IGNORECASE,
)
_MEDICATION = re.compile(
    r"\b(?:\w+(?:pril|sartan|olol|dipine|statin|azole|cillin|mycin|cycline|floxacin|"
    r"prazole|tidine|triptan|parin|xaban|gliptin|formin|azepam|oxetine|traline|"
    r"apine|idone|codone|morphine|profen|cetamol|isone|olone|mab|tinib|vir)|insulin|"
    r"lasix|aspirin|warfarin|lithium|methadone|metformin|tramadol|codeine|paracetamol|"
    r"ibuprofen|tylenol|advil|motrin|steroids?|antibiotics?|antidepressants?|mg|"
    r"milligrams?|ml|units?|tablets?|pills?|doses?|inhaler|injection|patch)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][a-z]+(?:[-'][A-Za-z]+)?\b")
_NOT_NAMES = {
    "The", "They", "Their", "She", "He", "His", "Her", "It", "This", "That", "There",
    "Speaker", "Patient", "Doctor", "Person", "Carer", "Parent", "Child", "Mr", "Mrs",
    "Ms", "Miss", "Dr", "Social", "Worker", "Supervisor", "Practitioner", "Chair",
    "English", "British", "Nurse", "Family", "Member",
}  # fmt: skip


@dataclass(frozen=True)
class Grounding:
    """The result of checking one statement against its cited text.

    Attributes:
        support: 0 (nothing supports it) to 1 (fully supported).
        similarity: Cosine similarity of statement and cited text, -1 to 1.
        missing: Numbers, names, dates, negations or medication words in the
            statement that the cited text lacks, as ``"kind:value"``.
        flags: ``"unsupported"`` and ``"high-stakes:<topic>"`` flags.
    """

    support: float
    similarity: float
    missing: tuple[str, ...]
    flags: tuple[str, ...]


def _numbers(text: str) -> set[str]:
    found = set(re.findall(r"\d+(?:\.\d+)?", text))
    lower = text.lower()
    # "eighty-four" is 84, as a transcript writes it
    for tens, unit in COMPOUND_NUMBER.findall(lower):
        found.add(str(int(_NUMBER_WORDS[tens]) + int(_NUMBER_WORDS[unit])))
    for word in re.findall(r"[a-z]+", COMPOUND_NUMBER.sub(" ", lower)):
        if word in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[word])
    return found


def critical_terms(text: str) -> dict[str, set[str]]:
    """Return the facts that must be backed by the source: numbers, names, dates...

    Args:
        text: A statement or source text.

    Returns:
        Sets of lower-case values by kind: ``number``, ``name``, ``date``,
        ``negation``, ``medication``.
    """
    names = {m.lower() for m in _CAPITALISED.findall(text) if m not in _NOT_NAMES}
    return {
        "number": _numbers(text),
        "name": names,
        "date": {m.lower() for m in _MONTHS_DAYS.findall(text)},
        "negation": {"negation"} if _NEGATIONS.search(text.replace("n't", " n't")) else set(),
        "medication": {m.lower() for m in _MEDICATION.findall(text)},
    }


def _missing(statement: str, source: str) -> tuple[str, ...]:
    wanted = critical_terms(statement)
    have = critical_terms(source)
    source_words = set(re.findall(r"[a-z0-9']+", source.lower()))
    missing = []
    for kind, values in wanted.items():
        for value in sorted(values):
            if value in have[kind]:
                continue
            if kind in ("name", "medication") and value in source_words:
                continue
            missing.append(f"{kind}:{value}")
    return tuple(missing)


_FRAME = re.compile(
    r"^[A-Z][\w' -]{0,40}? (?:said|says|reported|reports|stated|states|explained|"
    r"described|noted|asked whether|asked if)(?: that)?\s+",
)


_SPEAKER_LABEL = re.compile(r"\bspeaker[ _]?\d+\b", re.IGNORECASE)


def _claims(statement: str) -> str:
    """The statement without who said it: a label such as "Speaker 2" is not a number
    the transcript must contain, nor a high-stakes fact."""
    return _SPEAKER_LABEL.sub("the speaker", _FRAME.sub("", statement) or statement)


def _pieces(source: str) -> list[str]:
    """Parts of the source a statement may rest on: its sentences and pairs of them.

    A long source is not embedded whole: the embedding model reads only its first
    256 word pieces, and sentence pairs cover what one statement can draw on.
    """
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", source.strip()) if s]
    if len(sentences) <= 1:
        return [source]
    pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
    whole = [source] if len(source.split()) <= 60 else []
    return whole + sentences + pairs


def similarities(embedder: Any, pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Return how close each statement is in meaning to its source text, in one batch.

    The reporting frame ("The patient said that") is left out, and the statement is
    compared with the source and with its sentences; the best match counts.

    Args:
        embedder: A sentence-embedding model.
        pairs: ``(statement, source)`` pairs.

    Returns:
        Cosine similarities, -1 to 1, one per pair.
    """
    if not pairs:
        return []
    index: dict[str, int] = {}
    wanted: list[tuple[int, list[int]]] = []
    for statement, source in pairs:
        own = index.setdefault(_FRAME.sub("", statement) or statement, len(index))
        wanted.append((own, [index.setdefault(p, len(index)) for p in _pieces(source)]))
    vectors = embed(embedder, list(index))
    return [float((vectors[pieces] @ vectors[own]).max()) for own, pieces in wanted]


def check_grounding(
    text: str,
    cited_texts: Sequence[str],
    *,
    topics: Sequence[Topic] = (),
    embedder: Any = None,
    similarity: float | None = None,
    threshold: float = SUPPORT_THRESHOLD,
) -> Grounding:
    """Check one statement against the transcript text it cites.

    Args:
        text: The statement.
        cited_texts: Text of each cited segment.
        topics: High-stakes topics (``policies.load_topics()``); a statement touching
            one is flagged ``"high-stakes:<key>"``.
        embedder: A sentence-embedding model (``summarise.model.load_embedder()``);
            needed unless ``similarity`` is given.
        similarity: Precomputed cosine similarity of statement and cited text.
        threshold: Support below this is flagged ``"unsupported"``.

    Returns:
        The support score, what is missing and the flags.
    """
    source = " ".join(cited_texts)
    if not source.strip() or not text.strip():
        return Grounding(0.0, 0.0, ("citation:none",), ("unsupported",))
    if similarity is None:
        if embedder is None:
            from summarise.model import load_embedder

            embedder = load_embedder()
        similarity = similarities(embedder, [(text, source)])[0]
    claims = _claims(text)
    missing = _missing(claims, source)
    # Similarities of a paraphrase to its source sit around 0.5 to 0.9 with this model.
    support = max(0.0, min(1.0, (similarity - 0.15) / 0.55))
    if missing:
        support = min(support, 0.3) * (0.5 ** (len(missing) - 1))
    flags: list[str] = []
    if missing or support < threshold:
        flags.append("unsupported")
    # Only what the statement itself says is flagged: the cited text may touch many
    # topics that the statement does not repeat.
    topic_keys = match_topics(claims, tuple(topics))
    flags.extend(f"high-stakes:{k}" for k in topic_keys)
    return Grounding(round(support, 3), round(similarity, 3), missing, tuple(flags))


#: A statement this close in meaning to one of a topic's examples may touch the topic.
TOPIC_SIMILARITY = 0.55
#: ...and must be closer to it, by this much, than to any everyday sentence.
TOPIC_MARGIN = 0.1


def embed(embedder: Any, texts: Sequence[str]) -> Any:
    """Unit-length sentence vectors of ``texts``, one row each."""
    return embedder.encode(list(texts), batch_size=32, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)  # fmt: skip


# The topics' example sentences, the everyday ones and the sections' guidance are the
# same for every draft a worker makes: they are embedded once per embedder and policy,
# not once per draft. The embedder is kept with its vectors, so its id is not reused.
_FIXED: dict[tuple[int, tuple[str, ...]], tuple[Any, Any]] = {}


def embed_fixed(embedder: Any, texts: tuple[str, ...]) -> Any:
    """As :func:`embed`, for texts that do not change from draft to draft (cached)."""
    key = (id(embedder), texts)
    if key not in _FIXED:
        if len(_FIXED) >= 8:  # a changed policy or another embedder: keep the cache small
            _FIXED.clear()
        _FIXED[key] = (embedder, embed(embedder, texts))
    return _FIXED[key][1]


def topics_by_meaning(
    embedder: Any,
    texts: Sequence[str],
    topics: Sequence[Topic],
    ordinary: Sequence[str] = (),
    threshold: float = TOPIC_SIMILARITY,
    margin: float = TOPIC_MARGIN,
) -> list[tuple[str, ...]]:
    """The topics each text touches by meaning: close to one of the topic's examples.

    This finds a risk put in everyday words that no term of the topic matches ("my
    nephew helps himself to my purse"). Sentence embeddings also find everyday talk
    close to a risk ("his tablets are four times a day" near "he forgets his tablets"),
    so a text counts only when it is nearer the topic's example than any of the
    ``ordinary`` sentences. The reporting frame ("Mrs Patel said that") is left out.

    Args:
        embedder: A sentence-embedding model.
        texts: Statements.
        topics: Topics; those without examples are not matched this way.
        ordinary: Everyday sentences that touch no topic (``policies.load_ordinary()``).
        threshold: Cosine similarity at or above which a text may touch a topic.
        margin: How much nearer a topic's example than any everyday sentence it must be.

    Returns:
        The keys of the topics each text touches, one tuple per text.
    """
    examples = [(t.key, e) for t in topics for e in t.examples]
    if not texts or not examples:
        return [() for _ in texts]
    claims = embed(embedder, [_claims(t) for t in texts])
    fixed = embed_fixed(embedder, tuple(e for _k, e in examples) + tuple(ordinary))
    scores = claims @ fixed[: len(examples)].T
    everyday = (claims @ fixed[len(examples) :].T).max(axis=1) if ordinary else None
    found: list[tuple[str, ...]] = []
    for i, row in enumerate(scores):
        floor = threshold if everyday is None else max(threshold, float(everyday[i]) + margin)
        keys = [key for (key, _e), score in zip(examples, row, strict=True) if score >= floor]
        found.append(tuple(dict.fromkeys(keys)))
    return found
