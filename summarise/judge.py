"""The language model asked, one statement at a time, whether it points to a risk.

Terms and example sentences find a risk said in the words a policy expects; people
rarely say it that way ("by Tuesday the pension has gone", "some nights I could just
keep walking"). For a statement that no term and no example matched, the model is asked
a narrow yes-or-no question: does this suggest a risk the social worker should look
into? A "yes" flags the statement as a possible risk for the practitioner to check. It
names no category (a small model's guess at one, or the nearest example's, was wrong too
often to show), moves nothing and never changes what the note says.

The question is the same for every statement and comes first, so a model that caches
the start of its prompt (llama.cpp does) reads it once a draft; each statement then
costs a few dozen prompt tokens and one token of answer.

Where the model can say how sure it is (a model run here gives the probability of its
first token), a statement is flagged only when "yes" is at least :data:`RISK_THRESHOLD`
likely against "no": a bare greedy "yes" flagged too much everyday talk ("I could
murder a cup of tea"), and a flag on everything teaches people to click through flags.
A served model, which answers in words only, is flagged on its "yes".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from summarise.served import ModelServerUnavailable
from summarise.types import NoteDrafter

__all__ = ["JUDGE_PROMPT_VERSION", "POSSIBLE_RISK", "RISK_THRESHOLD", "judged_risky"]

logger = logging.getLogger(__name__)

#: Version of the risk question; recorded in every draft. Change it when it changes.
JUDGE_PROMPT_VERSION = "risk-judge-2026.12-2"

#: The flag of a statement the model judged to point to a risk no term or example named.
POSSIBLE_RISK = "high-stakes:possible-risk"

#: How likely "yes" must be, against "no", for a statement to be flagged. 0.8 flagged
#: fewer statements on the tuning scripts with no risk lost, but on the held-out scripts
#: it lost a quarter of the must-flag risks (docs/benchmarks.md): a missed risk costs
#: more than a flag too many, so a statement is flagged when "yes" is the likelier.
RISK_THRESHOLD = 0.5

_SYSTEM = (
    "You help a UK social worker check a visit note. Reply yes if the sentence suggests a "
    "possible risk to someone's safety, health, money or wellbeing that the social worker "
    "should look into; reply no for everyday talk. Reply yes or no only."
)
# Worked examples, answered: a small model given only the question says yes to nearly
# everything said at a visit. They are the model's calibration, not a list of risks.
_EXAMPLES = (
    ("Mrs Ali said her grandson keeps her bank card and the money is gone before the end "
     "of the week.", "yes"),
    ("Mrs Ali said her daughter visits every Sunday and they do the crossword.", "no"),
    ("Mr Dunn said he left the gas ring on overnight twice last week.", "yes"),
    ("Mr Dunn was diagnosed with diabetes in 2019 and sees the nurse every month.", "no"),
    ("She said she has not eaten a proper meal for days because she cannot face it.", "yes"),
    ("The social worker will ring the GP on Monday about the prescription.", "no"),
    ("He said some days he thinks there is no point carrying on.", "yes"),
    ("He said he could murder a cup of tea after all that talking.", "no"),
    ("She said he gets angry and grabs her arm when she wants to see her friends.", "yes"),
    ("She said the respite unit has a garden and she likes the staff there.", "no"),
)  # fmt: skip
_YES = re.compile(r"^\W*yes\b", re.IGNORECASE)


_PROMPT: list[dict[str, str]] = [{"role": "system", "content": _SYSTEM}]
for _text, _answer in _EXAMPLES:
    _PROMPT += [{"role": "user", "content": _text}, {"role": "assistant", "content": _answer}]


def judged_risky(
    drafter: NoteDrafter,
    texts: Sequence[str],
    report: Callable[[float], None] | None = None,
    threshold: float = RISK_THRESHOLD,
) -> list[bool]:
    """Ask the model, for each text, whether it suggests a risk to look into.

    An answer that is neither yes nor no, or a failed call, counts as no: this is a
    second look after terms and examples, and a broken model must not break the draft.

    Args:
        drafter: The loaded language model.
        texts: Statements of the draft.
        report: Called with the share of texts judged so far (0 to 1).
        threshold: How likely "yes" must be, against "no", where the model says.

    Returns:
        One answer per text.

    Raises:
        ModelServerUnavailable: A served model cannot be reached (the job is retried).
    """
    answers: list[bool] = []
    probability = getattr(drafter, "answer_probability", None)
    for n, text in enumerate(texts, start=1):
        messages = _PROMPT + [{"role": "user", "content": text}]
        try:
            if callable(probability):
                yes = float(probability(messages, ("yes", "no"))) >= threshold
            else:
                reply = drafter.generate(messages, max_new_tokens=3)
                yes = isinstance(reply, str) and bool(_YES.match(reply))
        except ModelServerUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken model must not break the draft
            logger.warning("risk question failed: %s", type(exc).__name__)
            yes = False
        answers.append(yes)
        if report is not None:
            report(n / len(texts))
    return answers
