"""Drafting by writing: the packaged model writes the note, and nothing it writes is trusted.

These run the real packaged default model on the scripted social-care conversations.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from policies import Template
from summarise import DraftOptions, draft_note, transcript_from_turns
from summarise.people import cast_of
from summarise.refusal import refusal
from summarise.social_eval import score_social
from summarise.types import Draft

CARER = "social-dev-carer-01"
CARE_ACT = "social-dev-careact-01"


def _draft(script: dict[str, Any], templates: dict[str, Template], drafter: Any,
           embedder: Any, **options: Any) -> Draft:  # fmt: skip
    transcript = transcript_from_turns(script["turns"], source=script["id"])
    template = templates[script["template"]]
    return draft_note(transcript, template, drafter, embedder=embedder,
                      participants=script["participants"],
                      options=DraftOptions(**options))  # fmt: skip


def _placed(turns: list[tuple[str, str]], template: Template, people: list[tuple[str, str]],
            drafter: Any, embedder: Any) -> dict[str, str]:  # fmt: skip
    """Each statement of a draft of ``turns`` (role, words), by text, with its section."""
    transcript = transcript_from_turns([{"speaker": r, "text": t} for r, t in turns])
    draft = draft_note(transcript, template, drafter, embedder=embedder,
                       participants=[{"name": n, "role": r} for n, r in people])  # fmt: skip
    return {st.text: s.key for s in draft.sections for st in s.statements}


@pytest.fixture(scope="module")
def carer_draft(scripts: dict, templates: dict, writer: Any, embedder: Any) -> Draft:
    return _draft(scripts[CARER], templates, writer, embedder)


@pytest.fixture(scope="module")
def care_act_draft(scripts: dict, templates: dict, writer: Any, embedder: Any) -> Draft:
    return _draft(scripts[CARE_ACT], templates, writer, embedder)


def _statements(draft: Draft) -> list[Any]:
    return [s for section in draft.sections for s in section.statements]


@pytest.mark.slow
def test_the_carers_note_keeps_the_key_facts_flags_the_risks_and_lists_every_action(
    carer_draft: Draft, scripts: dict
) -> None:
    score = score_social(scripts[CARER], carer_draft)
    assert score.key_facts >= 0.9, score.missed_facts
    assert score.must_flag == 1.0, score.missed_flags
    assert score.actions == 1.0, score.missed_actions
    # A short conversation dense with risk: the gas hob, night-time wandering and the
    # carer's exhaustion are most of it, and the model's risk question flags the carer's
    # own coping too (11 of 27 statements). The bound is there against flags on
    # everything: asked without worked examples, the model flagged two thirds of a note.
    assert score.flagged <= 0.45
    assert score.invented == ()


@pytest.mark.slow
def test_risks_sit_under_risks_and_actions_under_actions_with_their_owner(
    carer_draft: Draft,
) -> None:
    sections = {s.key: s for s in carer_draft.sections}
    risks = " ".join(s.text for s in sections["risks"].statements)
    assert "gas" in risks
    actions = sections["actions"].actions
    owners = {a.who for a in actions}
    assert "Tom Bailey" in owners and "Linda Hughes" in owners
    ring = next(a for a in actions if "Dylan" in a.what)
    assert ring.who == "Linda Hughes" and ring.by_when == "tonight"
    valve = next(a for a in actions if "valve" in a.what)
    assert valve.who == "Tom Bailey" and "end of the month" in (valve.by_when or "")
    # The gas risk is flagged where it was said, not again on the action that answers it.
    assert any("high-stakes:fire-gas" in s.flags for s in sections["risks"].statements)
    assert not [f for a in actions for f in a.flags if f.startswith("high-stakes:")]


@pytest.mark.slow
def test_no_statement_is_a_fragment_a_question_or_speaker_n_said_that(
    carer_draft: Draft, care_act_draft: Draft
) -> None:
    for draft in (carer_draft, care_act_draft):
        for statement in _statements(draft):
            text = statement.text
            assert not re.match(r"(?i)speaker \d", text), text
            assert text[0].isupper() or text[0] in '“"', text
            assert not text.rstrip('"”').endswith("?") or "asked:" in text, text
            assert "asked whether" not in text


@pytest.mark.slow
def test_people_are_named_as_the_participants_list_names_them(care_act_draft: Draft) -> None:
    text = " ".join(s.text for s in _statements(care_act_draft))
    assert "Marcus" in text
    assert "The person said" not in text
    owners = {a.who for s in care_act_draft.sections for a in s.actions}
    assert "Aisha Rahman" in owners and "Jo" in owners


@pytest.mark.slow
def test_every_statement_cites_segments_that_exist_and_quotes_are_verbatim(
    carer_draft: Draft, scripts: dict
) -> None:
    turns = [t["text"] for t in scripts[CARER]["turns"]]
    for statement in _statements(carer_draft):
        assert statement.citations
        for cite in statement.citations:
            assert 0 <= cite.segment_id < len(turns)
        cited = " ".join(turns[c.segment_id] for c in statement.citations)
        if statement.quote:
            assert statement.text in cited
        quoted = re.search(r'said: "(.+)"$', statement.text)
        if quoted:
            assert quoted.group(1) in cited


class _PlantsWrongNumbers:
    """The real model, with its replies' numbers changed before the checks see them."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.name, self.sha256 = real.name, real.sha256

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        reply = self.real.generate(messages, max_new_tokens)
        return reply.replace("eighty-four", "ninety-four").replace("four hours", "nine hours")


@pytest.mark.slow
def test_a_planted_wrong_number_in_a_model_reply_is_caught(
    scripts: dict, templates: dict, writer: Any, embedder: Any
) -> None:
    script = {**scripts[CARER], "turns": scripts[CARER]["turns"][:12]}
    draft = _draft(script, templates, _PlantsWrongNumbers(writer), embedder)
    text = " ".join(s.text for s in _statements(draft))
    assert "ninety-four" not in text and "nine hours" not in text
    assert "eighty-four" in text and "four hours" in text


@pytest.mark.slow
def test_garbage_from_the_model_still_gives_a_complete_faithful_draft(
    scripts: dict, templates: dict, garbage: Any, embedder: Any
) -> None:
    script = scripts[CARER]
    draft = _draft(script, templates, garbage, embedder)
    assert garbage.calls > 0
    assert draft.model_accepted == 0
    score = score_social(script, draft)
    assert score.key_facts >= 0.85, score.missed_facts
    assert score.invented == ()
    turns = " ".join(t["text"] for t in script["turns"])
    for statement in _statements(draft):
        for said in re.findall(r'"(.+?)"', statement.text):
            assert said in turns
        assert "suicidal" not in statement.text and "sertraline" not in statement.text


def test_a_sentence_with_a_changed_number_name_or_negation_is_refused(scripts: dict) -> None:
    transcript = transcript_from_turns(scripts[CARER]["turns"])
    cast = cast_of(transcript, scripts[CARER]["participants"])
    linda = cast.person("carer")
    sources = ["I sleep maybe four hours a night.", "My GP has put me on antidepressants."]
    context = "How is all of this affecting you?"
    assert refusal("Linda Hughes sleeps about four hours a night.", sources, context, linda,
                   cast) == ""  # fmt: skip
    assert refusal("Linda Hughes sleeps six hours a night.", sources, context, linda, cast)
    assert refusal("Linda Hughes is not on antidepressants.", sources, context, linda, cast)
    assert refusal("Tom Bailey sleeps four hours a night.", sources, context, linda, cast)
    assert refusal("Her GP has put her on sertraline.", sources, context, linda, cast)
    assert refusal("I sleep maybe four hours a night.", sources, context, linda, cast)
    assert refusal("<|im_start|>assistant", sources, context, linda, cast)


def test_speakers_are_named_from_the_participants_by_role_and_by_who_asks() -> None:
    labelled = transcript_from_turns([
        {"speaker": "social worker", "text": "How are you managing?"},
        {"speaker": "person", "text": "Not too bad, thank you."},
    ])  # fmt: skip
    cast = cast_of(labelled, [{"name": "Sarah Okafor", "role": "social worker"},
                              {"name": "Mrs Patel", "role": "person"}])  # fmt: skip
    assert cast.person("person").name == "Mrs Patel"
    assert cast.worker == "social worker"
    numbered = transcript_from_turns([
        {"speaker": "SPEAKER_01", "text": "Hello. How are you? Have you eaten today?"},
        {"speaker": "SPEAKER_00", "text": "I have, yes. I had toast."},
    ])  # fmt: skip
    cast = cast_of(numbered, [{"name": "Mrs Patel", "role": "person"},
                              {"name": "Sarah Okafor", "role": "social worker"}])  # fmt: skip
    assert cast.person("SPEAKER_01").name == "Sarah Okafor"
    assert cast.person("SPEAKER_00").name == "Mrs Patel"


def test_a_sentence_in_the_second_person_or_making_the_speaker_the_doer_is_refused(
    scripts: dict,
) -> None:
    transcript = transcript_from_turns(scripts[CARE_ACT]["turns"])
    cast = cast_of(transcript, scripts[CARE_ACT]["participants"])
    person = cast.person("person")
    worker = cast.person("social worker")
    sources = ["A man rang, he said he was from the bank.", "I gave him my card number."]
    name = person.name
    assert refusal(f"{name} said a man rang from the bank.", sources, "", person, cast) == ""
    assert refusal(f"{name} rang and said he was from the bank.", sources, "", person, cast)
    mine = ["I'm here to do your assessment today."]
    assert refusal(f"{worker.name} is here to do your assessment.", mine, "", worker, cast)


class _Scripted:
    """Answers every call with the same write-up: for testing the checks, not a model."""

    name, sha256 = "scripted", "0" * 64

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        return self.reply


def _write_up(
    turns: list[tuple[str, str]], participants: list[tuple[str, str]], reply: str
) -> tuple[list[Any], int, int]:
    """Write ``turns`` up with a model that always answers ``reply``; ``participants`` are
    ``(name, role)``. Returns the statements, the calls made and the sentences accepted."""
    from summarise.write import write_statements

    transcript = transcript_from_turns([{"speaker": s, "text": t} for s, t in turns])
    cast = cast_of(transcript, [{"name": n, "role": r} for n, r in participants])
    return write_statements(
        transcript.segments, cast, _Scripted(reply), lambda sentence, professional: False
    )


def test_a_faithful_write_up_with_a_number_in_words_is_not_quoted_again() -> None:
    written, calls, accepted = _write_up(
        [("social worker", "How are the nights?"),
         ("carer", "He is up three times a night and I get no sleep.")],
        [("Linda Hughes", "carer"), ("Tom Bailey", "social worker")],
        "Linda Hughes said he is up three times a night and she gets no sleep.",
    )  # fmt: skip
    assert calls == 1 and accepted == 1
    assert [w.text for w in written] == [
        "Linda Hughes said he is up three times a night and she gets no sleep."
    ]


def test_when_the_write_up_loses_a_number_the_speakers_words_replace_it() -> None:
    written, _calls, _accepted = _write_up(
        [("carer", "I drove buses for thirty-one years and now I can't drive.")],
        [("Arjun Mehta", "carer")], "Arjun Mehta said he can no longer drive.",
    )  # fmt: skip
    assert [w.text for w in written] == [
        'Arjun Mehta said: "I drove buses for thirty-one years and now I can\'t drive."'
    ]


def test_a_number_inside_another_number_is_not_taken_as_kept() -> None:
    written, _calls, _accepted = _write_up(
        [("person", "About £230 a week comes in. He brings maybe £30 worth of shopping.")],
        [("Stanley Greaves", "person")],
        "Stanley Greaves said about £230 a week comes in.\nHe brings maybe some worth of shopping.",
    )  # fmt: skip
    assert any("£30 worth" in w.text for w in written), [w.text for w in written]


def test_a_plain_no_to_a_screening_question_is_kept_with_the_question() -> None:
    written, _calls, _accepted = _write_up(
        [("social worker", "I ask everyone this: have you had any thoughts of harming yourself?"),
         ("person", "No, love. Never. I'm fed up, not daft.")],
        [("Rachel Okafor", "social worker"), ("Edna Pearson", "person")], "",
    )  # fmt: skip
    assert written[0].text == (
        'Rachel Okafor asked: "I ask everyone this: have you had any thoughts of harming '
        'yourself?" Edna Pearson said: "No, love. Never. I\'m fed up, not daft."'
    )
    assert [s.id for s in written[0].segments] == [0, 1]
    assert len(written) == 1  # the reply is quoted whole, not written up again


def test_a_no_and_what_follows_it_are_quoted_whole_not_cut_to_no() -> None:
    reply = ("No. God, no. Nothing like that. It's not dying I want, it's... somewhere "
             "quiet. An hour where nobody needs me.")  # fmt: skip
    written, _calls, _accepted = _write_up(
        [("social worker", "Can I ask you straight: do you ever have thoughts of ending your "
                           "life?"),
         ("carer", reply)],
        [("Aoife Brennan", "social worker"), ("Graham Pickering", "carer")], "",
    )  # fmt: skip
    assert [w.text for w in written] == [
        'Aoife Brennan asked: "Can I ask you straight: do you ever have thoughts of ending '
        f'your life?" Graham Pickering said: "{reply}"'
    ]


def test_a_model_sentence_with_quote_marks_or_reporting_someone_else_is_refused(
    scripts: dict,
) -> None:
    transcript = transcript_from_turns(scripts[CARER]["turns"])
    cast = cast_of(transcript, scripts[CARER]["participants"])
    linda = cast.person("carer")
    worker = cast.person("social worker")
    sources = ["I sleep maybe four hours a night."]
    assert refusal(f'{linda.name} said "I sleep four hours a night."', sources, "", linda, cast)
    assert refusal(f"{worker.name} said she sleeps four hours a night.", sources, "", linda,
                   cast)  # fmt: skip


def test_a_day_said_as_when_something_happens_every_week_is_not_a_deadline() -> None:
    from summarise.actions import deadline

    assert deadline("look at a sitting service on Monday evenings") is None
    assert deadline("refer her to the falls clinic by Friday") == "by Friday"
    assert deadline("ring him tonight") == "tonight"


def test_what_a_carer_says_of_their_own_coping_is_kept_when_the_model_leaves_it_out() -> None:
    written, _calls, _accepted = _write_up(
        [("social worker", "And how are you doing yourself, Priya?"),
         ("carer", "I'm tired, I won't lie. He takes the bins out on Monday.")],
        [("Priya Mehta", "carer"), ("Claire Donovan", "social worker")],
        "Priya Mehta said he takes the bins out on Monday.",
    )  # fmt: skip
    texts = [w.text for w in written]
    # A reply this short is kept with the question it answers.
    assert (
        'Claire Donovan asked: "And how are you doing yourself, Priya?" '
        "Priya Mehta said: \"I'm tired, I won't lie.\""
    ) in texts
    assert "Priya Mehta said he takes the bins out on Monday." in texts


def test_a_short_answer_the_model_could_not_write_up_is_kept_with_its_question() -> None:
    written, _calls, _accepted = _write_up(
        [("social worker", "Right. How many times a night is he up?"),
         ("carer", "Three, maybe four."),
         ("social worker", "And who helps you with the shopping?"),
         ("carer", "My sister Pat takes me to the Co-op every Tuesday morning.")],
        [("Graham Cole", "carer"), ("Aoife Byrne", "social worker")], "Again in June.",
    )  # fmt: skip
    by_text = {w.text: w for w in written}
    asked = (
        'Aoife Byrne asked: "How many times a night is he up?" '
        'Graham Cole said: "Three, maybe four."'
    )
    assert asked in by_text
    assert [s.id for s in by_text[asked].segments] == [0, 1]  # cites the question too
    # A longer reply stands on its own.
    pat = 'Graham Cole said: "My sister Pat takes me to the Co-op every Tuesday morning."'
    assert pat in by_text


def test_a_him_the_model_took_for_the_worker_is_put_back_and_the_sentence_kept() -> None:
    written, _calls, accepted = _write_up(
        [("social worker", "What do you do for your dad day to day?"),
         ("carer", "I help him wash and dress every morning.")],
        [("Linda Hughes", "carer"), ("Tom Bailey", "social worker")],
        "Linda Hughes said she helps Tom Bailey wash and dress every morning.",
    )  # fmt: skip
    assert accepted == 1
    assert [w.text for w in written] == [
        "Linda Hughes said she helps him wash and dress every morning."
    ]


def test_the_workers_name_is_not_put_back_when_the_reply_could_mean_either_person() -> None:
    from summarise.people import Person
    from summarise.refusal import restore_pronoun as _restore_pronoun

    tom = Person("social worker", "Tom Bailey", "social worker", True)
    both = ["She said he hits her when he has been drinking."]
    assert _restore_pronoun("Tom Bailey hits her.", both, tom) == "Tom Bailey hits her."
    named = ["Tom said I could ring him."]
    kept = "She could ring Tom Bailey."
    assert _restore_pronoun(kept, named, tom) == kept
    one = ["His tablets are in the kitchen and I give him them at eight."]
    assert (_restore_pronoun("She gives Tom Bailey's tablets to Tom Bailey at eight.", one, tom)
            == "She gives his tablets to him at eight.")  # fmt: skip


def test_a_plain_write_up_naming_the_speaker_is_not_refused_as_not_from_the_reply(
    scripts: dict,
) -> None:
    transcript = transcript_from_turns(scripts[CARER]["turns"])
    cast = cast_of(transcript, scripts[CARER]["participants"])
    linda = cast.person("carer")
    sources = ["Honestly, I'm exhausted."]
    context = "How is all of this affecting you?"
    assert refusal("Linda Hughes said she is exhausted.", sources, context, linda, cast) == ""
    assert refusal("Linda Hughes said it is affecting her.", sources, context, linda, cast)


def test_a_third_voice_is_named_by_introducing_itself_or_answering_to_its_name() -> None:
    numbered = transcript_from_turns([
        {"speaker": "SPEAKER_00", "text": "Hello, I'm Sam from children's services. Can we talk?"},
        {"speaker": "SPEAKER_01", "text": "Yes. I'm Jo's mum, Karen, by the way."},
        {"speaker": "SPEAKER_02", "text": "And I'm Jo. Do I have to be here?"},
        {"speaker": "SPEAKER_00", "text": "Karen, how has Jo been sleeping?"},
        {"speaker": "SPEAKER_01", "text": "Badly. She's up till two most nights."},
    ])  # fmt: skip
    participants = [{"name": "Sam Price", "role": "social worker"},
                    {"name": "Karen Hill", "role": "parent"},
                    {"name": "Jo Hill", "role": "child"}]  # fmt: skip
    cast = cast_of(numbered, participants)
    assert cast.person("SPEAKER_00").name == "Sam Price"
    assert cast.person("SPEAKER_02").name == "Jo Hill"  # "I'm Jo", not "I'm Jo's mum"
    assert cast.person("SPEAKER_01").name == "Karen Hill"  # spoken to as Karen, answers
    # Without a sign of who is who, two voices and two names are left unnamed.
    quiet = transcript_from_turns([
        {"speaker": "SPEAKER_00", "text": "How has the week been? Any problems?"},
        {"speaker": "SPEAKER_01", "text": "Fine, thanks."},
        {"speaker": "SPEAKER_02", "text": "Not bad."},
    ])  # fmt: skip
    cast = cast_of(quiet, participants)
    assert cast.person("SPEAKER_01").named is False
    assert cast.person("SPEAKER_02").named is False
    # Speaking of someone is not being them, nor is a greeting to several people.
    spoken_of = transcript_from_turns([
        {"speaker": "SPEAKER_00", "text": "Hi Karen, hi Jo. How have things been? Any news?"},
        {"speaker": "SPEAKER_01", "text": "Jo, my daughter, has been at school every day."},
        {"speaker": "SPEAKER_02", "text": "Mostly."},
    ])  # fmt: skip
    cast = cast_of(spoken_of, participants)
    assert cast.person("SPEAKER_01").name != "Jo Hill"
    assert cast.person("SPEAKER_02").name != "Karen Hill"


def _cast(turns: list[tuple[str, str]], participants: list[dict[str, str]] | None = None) -> Any:
    transcript = transcript_from_turns([{"speaker": s, "text": t} for s, t in turns])
    return cast_of(transcript, participants)


def test_with_no_participant_named_the_opening_names_the_worker_and_the_person_greeted() -> None:
    cast = _cast([
        ("social worker", "Hi Mrs Hughes, I'm Tom Bailey, a social worker. Is that all right?"),
        ("carer", "Yes, that's fine. Call me Linda."),
    ])  # fmt: skip
    assert (cast.person("social worker").name, cast.person("carer").name) == (
        "Tom Bailey",
        "Mrs Hughes",
    )
    assert cast.person("carer").role == "carer"
    asked_for = _cast([("social worker", "Mr Greaves? Hello, I'm Tom Adeyemi."),
                       ("person", "Stan. Come in, son.")])  # fmt: skip
    assert asked_for.person("person").name == "Mr Greaves"
    # "I'm sorry", "I'm fine" and a greeting to two people name nobody.
    polite = _cast([("social worker", "Hello. I'm Sorry I'm late. Hi Karen, hi Jo."),
                    ("person", "I'm Fine."), ("child", "Hi.")])  # fmt: skip
    assert not any(p.named for p in polite.people.values())


def test_a_role_standing_for_a_name_is_lower_case_inside_a_sentence() -> None:
    cast = _cast([("social worker", "How are you?"), ("carer", "Tired.")])
    assert cast.person("carer").name == "The carer"
    assert (cast.running_text("Last week, The carer found him at the door.")
            == "Last week, the carer found him at the door.")  # fmt: skip
    assert (cast.running_text("Complete The carer's carer's assessment")
            == "Complete the carer's assessment")  # fmt: skip
    assert cast.running_text("The carer said so.") == "The carer said so."


def test_a_short_sentence_is_quoted_with_the_one_it_follows_on_from_not_the_question() -> None:
    written, _calls, _accepted = _write_up(
        [("social worker", "So, how have things been?"),
         ("person", "Not bad. Slow. I was in with my chest, the pneumonia. Ten days. "
                    "I'm still puffed going out to the bins."),
         ("social worker", "Would you ring your bank with me on Monday?"),
         ("person", "Monday. Aye, I can do that, no bother at all.")],
        [("Tom Adeyemi", "social worker"), ("Stanley Greaves", "person")], "",
    )  # fmt: skip
    texts = [w.text for w in written]
    assert 'Stanley Greaves said: "I was in with my chest, the pneumonia. Ten days."' in texts
    assert not any('"How have things been?"' in t and "Ten days" in t for t in texts)
    assert not any('"Monday."' in t for t in texts)  # an echo of the question, not a fact


def test_the_workers_you_written_as_the_worker_is_refused() -> None:
    cast = _cast([("social worker", "You're not in trouble for anything."), ("child", "OK.")],
                 [{"name": "Zoe Clarke", "role": "social worker"},
                  {"name": "Tyler", "role": "child"}])  # fmt: skip
    zoe = cast.person("social worker")
    said = ["You're not in trouble for anything."]
    assert refusal("Zoe Clarke said she was not in trouble for anything.", said, "", zoe,
                   cast) == "lost-addressee"  # fmt: skip
    named = ["Thank you for telling me, Tyler.", "You're not in trouble for anything."]
    assert refusal("Zoe Clarke told Tyler he is not in trouble for anything.", named, "", zoe,
                   cast) == ""  # fmt: skip


def test_an_act_given_to_the_wrong_he_or_she_is_refused() -> None:
    cast = _cast([("social worker", "Has there been any contact from Liam?"),
                  ("parent", "He hasn't been to the house. But he sent me a text.")],
                 [{"name": "Owen Davies", "role": "social worker"},
                  {"name": "Jade", "role": "parent"}])  # fmt: skip
    jade = cast.person("parent")
    said = ["He hasn't been to the house.", "But he sent me a text on Friday night."]
    context = "Has there been any contact from Liam?"
    assert refusal("She sent a text on Friday night.", said, context, jade,
                   cast) == "changed-doer"  # fmt: skip
    assert refusal("He sent her a text on Friday night.", said, context, jade, cast) == ""
    mine = ["I rang 101 and gave them the screenshot."]
    assert refusal("She rang 101 and gave them the screenshot.", mine, "", jade, cast) == ""


def test_a_sentence_leaving_two_people_as_he_is_refused() -> None:
    cast = _cast([("social worker", "Does he frighten you?"),
                  ("person", "He's never frightened me. He's my lad.")],
                 [{"name": "Tom Adeyemi", "role": "social worker"},
                  {"name": "Stanley Greaves", "role": "person"}])  # fmt: skip
    stan = cast.person("person")
    said = ["He's never frightened me, never even raised his voice."]
    assert refusal("Stanley Greaves said he has never frightened him.", said, "", stan,
                   cast) == "ambiguous-pronoun"  # fmt: skip
    assert refusal("Stanley Greaves said Jason has never frightened him.", said, "Jason?",
                   stan, cast) == ""  # fmt: skip
    own = ["I walk with my stick inside."]
    assert refusal("He said he walks with his stick inside.", own, "", stan, cast) == ""
    favour = ["I do him the odd favour, that's all."]
    assert refusal("Stanley Greaves said he did Stanley the odd favour.", favour, "", stan,
                   cast) == "speaker-twice"  # fmt: skip


def test_a_workers_lead_in_to_a_question_is_not_written_up_as_a_statement() -> None:
    from summarise.agreed import states_action
    from summarise.worth import content_sentences

    segment = transcript_from_turns([{"speaker": "social worker", "text": "Not in the canteen, "
                                      "I promise. And the other phone, Tyler. Who gave you that "
                                      "one?"}]).segments[0]  # fmt: skip
    assert content_sentences(segment, states_action, True) == ["Not in the canteen, I promise."]
    said = transcript_from_turns([{"speaker": "person", "text": "The other phone. Who knows?"}])
    assert content_sentences(said.segments[0], states_action, False) == ["The other phone."]


def test_the_speakers_own_act_given_to_someone_elses_he_or_an_unsaid_relation_is_refused() -> None:
    cast = _cast([("social worker", "Where was he?"),
                  ("parent", "He's out till all sorts. I was ringing and ringing.")],
                 [{"name": "Daniel Mensah", "role": "social worker"},
                  {"name": "Shanice Doyle", "role": "parent"}])  # fmt: skip
    mum = cast.person("parent")
    said = ["He's out till all sorts.", "I was ringing and ringing and it went to voicemail."]
    assert refusal("Shanice Doyle said he was ringing and ringing.", said, "", mum,
                   cast) == "ambiguous-pronoun"  # fmt: skip
    assert refusal("Shanice Doyle said she was ringing and ringing.", said, "", mum, cast) == ""
    kai = ["At his mate Kai's, he says."]
    assert refusal("Shanice Doyle said her husband was at Kai's.", kai, "Where was he?", mum,
                   cast) == "new-relation"  # fmt: skip
    mother = ["Mum, I have to say it.", "She sat here in her coat for two days."]
    assert refusal("Her mother sat here for two days.", mother, "", mum, cast) == ""


def test_a_name_only_spoken_to_or_a_whether_written_as_a_fact_is_refused() -> None:
    cast = _cast([("social worker", "Joan, I'm sorry. Frank died in 2019."),
                  ("person", "Whether I have carers in every morning for my washing.")],
                 [{"name": "Lucy Barnes", "role": "social worker"},
                  {"name": "Joan", "role": "person"}])  # fmt: skip
    lucy, joan = cast.person("social worker"), cast.person("person")
    said = ["Joan, I'm sorry.", "Frank died in 2019."]
    assert refusal("Lucy Barnes said Joan had died in 2019.", said, "", lucy,
                   cast) == "vocative-as-subject"  # fmt: skip
    assert refusal("Lucy Barnes told Joan that Frank died in 2019.", said, "", lucy, cast) == ""
    visit = ["Joan, this is the planned review under Peter's care plan."]
    wrong = "Lucy Barnes said Joan is the planned review under Peter's care plan."
    assert refusal(wrong, visit, "", lucy, cast) == "vocative-as-subject"
    praised = ["Joan, you've done really well with the exercises."]
    assert refusal("Lucy Barnes said Joan had done really well with the exercises.", praised,
                   "", lucy, cast) == ""  # fmt: skip
    # "Sepsis, they call it.": a word before a comma is no one spoken to.
    sepsis = ["Worst case it gets into my blood.", "Sepsis, they call it."]
    assert refusal("Joan said the worst case is sepsis in her blood.", sepsis, "", joan,
                   cast) != "vocative-as-subject"  # fmt: skip
    whether = ["Whether I have carers in every morning for my washing."]
    asked = "What's the decision we're talking about?"
    assert refusal("Joan said she has carers in every morning for her washing.", whether, asked,
                   joan, cast) == "lost-whether"  # fmt: skip
    assert refusal("Joan said it is whether she has carers in every morning for her washing.",
                   whether, asked, joan, cast) == ""  # fmt: skip


def test_a_short_sentence_with_a_word_of_substance_is_kept_when_the_model_leaves_it_out(
    templates: dict, garbage: Any, embedder: Any
) -> None:
    from summarise.people import Person
    from summarise.worth import substantial

    person = Person("SPEAKER_1", "Arjun Mehta", "person", True)
    for said in ("Buttons are hard.", "He's got my cash card.", "We haven't got a plan."):
        assert substantial(said, person), said
    for chat in ("Aye, go on.", "I suppose so.", "Fine by me.", "There's nowt to tell."):
        assert not substantial(chat, person), chat
    texts = _placed([("social worker", "And getting dressed?"),
                     ("person", "I can dress my top half. Buttons are hard.")],
                    templates["care-act-assessment"],
                    [("Claire Donovan", "social worker"), ("Arjun Mehta", "person")],
                    garbage, embedder)  # fmt: skip
    assert any("Buttons are hard." in t for t in texts), texts
    # Short sentences in a row are quoted with the one they follow, and a reply's opening
    # with the question it answers.
    texts = _placed([
        ("social worker", "Has there been any contact from Liam?"),
        ("parent", "He hasn't been to the house. But he sent me a text on Friday night. Just "
                   "'I miss you both'. I didn't reply."),
        ("social worker", "Can you tell me why you're in hospital, Jade?"),
        ("parent", "My chest, I think. Or my waterworks."),
    ], templates["child-family-visit"], [("Owen Davies", "social worker"), ("Jade", "parent")],
       garbage, embedder)  # fmt: skip
    run = "But he sent me a text on Friday night. Just 'I miss you both'. I didn't reply."
    assert sum(run in t for t in texts) == 1, texts
    assert not any("I didn't reply" in t and run not in t for t in texts)
    said = (
        'Owen Davies asked: "Can you tell me why you\'re in hospital, Jade?" Jade said: "My chest'
    )
    assert any(t.startswith(said) and "Or my waterworks." in t for t in texts), texts


def test_the_analysis_is_left_to_the_practitioner_and_small_talk_is_not_a_finding(
    templates: dict, garbage: Any, embedder: Any
) -> None:
    where = _placed([
        ("social worker", "Hello, Mrs Pearson, it's Rachel Okafor. I'm a social worker with the "
                          "Northfield community team, we spoke on the phone on Monday."),
        ("person", "Come in, love. And it's Edna."),
        ("social worker", "Gosh, it's bitter out there today. So, the reason I'm here is the "
                          "call we had from the ambulance service after your fall last week."),
        ("person", "I got up in the night and my legs just went. I was on the floor by the bed "
                   "till the carer came."),
        ("social worker", "Sometimes after a fall people feel quite low. I noticed the rug in "
                          "the hall is curling up at the edge, and the bedroom is very dark at "
                          "night."),
        ("person", "I keep meaning to get rid of that rug."),
    ], templates["home-visit"], [("Rachel Okafor", "social worker"), ("Edna Pearson", "person")],
       garbage, embedder)  # fmt: skip
    assert "analysis" not in where.values()
    texts = list(where)
    for chat in ("bitter out there", "Northfield community team", "people feel quite low"):
        assert not any(chat in t for t in texts), chat


def test_a_round_of_introductions_becomes_one_statement_of_who_was_there(
    scripts: dict, templates: dict, garbage: Any, embedder: Any
) -> None:
    draft = _draft(scripts["social-dev-multiagency-01"], templates, garbage, embedder)
    intro = next(s for s in draft.sections[0].statements if s.text.startswith("Introductions:"))
    assert "Ben Carter, Chloe's social worker" in intro.text
    assert "PC Sam Oduya, missing persons coordinator" in intro.text
    assert "Karen Lloyd, designated safeguarding lead at Hillside Academy" in intro.text
    assert intro.flags == () and len(intro.citations) >= 4
    # Said once, first, and no longer a risk because a job title says "safeguarding".
    others = [s for section in draft.sections for s in section.statements if s is not intro]
    assert not [s.text for s in others if "missing persons coordinator" in s.text]
    assert not [s.text for s in others if "safeguarding lead" in s.text]


def test_how_the_recording_is_kept_is_not_written_up() -> None:
    from summarise.worth import is_social_housekeeping

    assert is_social_housekeeping("It's stored securely and deleted once the note is written.")
    assert is_social_housekeeping("It means I can listen to you instead of scribbling.")
    assert is_social_housekeeping("Mrs Walsh...")  # catching her eye, no content
    assert is_social_housekeeping("Can you imagine.")
    assert is_social_housekeeping("Come in, come in.")
    assert is_social_housekeeping("Right, here's what I'm suggesting, and tell me if it doesn't "
                                  "sit right.")  # fmt: skip
    assert is_social_housekeeping("So, to sum up.")
    assert is_social_housekeeping("Dennis is fine.")  # what to call him
    assert not is_social_housekeeping("Dennis is fine with the plan.")
    assert not is_social_housekeeping("Last Friday he come in at two in the morning.")
    assert is_social_housekeeping("Some carers find that a worry.")  # putting them at ease
    assert not is_social_housekeeping("I don't know.")  # an answer, with its question
    assert not is_social_housekeeping("She stores her tablets in the kitchen drawer.")
    assert not is_social_housekeeping("Mr Green takes the bins out.")


def test_chat_about_the_mess_or_turning_up_is_left_out_but_what_follows_it_is_kept() -> None:
    from summarise.worth import is_social_housekeeping

    for chat in ("Excuse the washing.", "Sorry to just turn up.",
                 "It will, but it's only to help me write things down."):  # fmt: skip
        assert is_social_housekeeping(chat), chat
    assert not is_social_housekeeping(
        "Sorry to just turn up, this is one of the unannounced visits we talked about."
    )


def test_a_section_for_the_parents_words_left_empty_takes_their_nearest_statements() -> None:
    import numpy as np

    from policies.templates import TemplateSection
    from summarise.people import Person
    from summarise.placing import _fill_empty
    from summarise.write import Written

    kelly = Person("parent", "Kelly", "parent", True)
    segment = transcript_from_turns([{"speaker": "parent", "text": "x"}]).segments[0]
    said = [Written(t, (segment,), kelly, True) for t in
            ("Kelly said she wants Tyler at school.", "Kelly said she had a drink.",
             "Kelly said the house is warm.")]  # fmt: skip
    sections = [TemplateSection("observations", "Observations", "What was seen."),
                TemplateSection("parent-views", "Views of the parents", "What they said.",
                                speakers=("parent",))]  # fmt: skip
    placed = {"observations": list(said), "parent-views": []}
    scores = np.array([[0.2, 0.6], [0.3, 0.5], [0.5, 0.1]])
    _fill_empty(placed, said, sections, scores, [False, True, False])
    # The one nearly as close to it as to its own section moves; the risk stays where it
    # was, and so does the one far closer to the observations.
    assert placed["parent-views"] == [said[0]]
    assert placed["observations"] == [said[1], said[2]]


def _care_act_quote(
    turns: list[tuple[str, str]], people: list[tuple[str, str]], templates: dict, embedder: Any
) -> tuple[str, Any]:
    """The words quoted for "What matters to the person" in a Care Act assessment."""
    from summarise.compose import _quote

    transcript = transcript_from_turns([{"speaker": r, "text": t} for r, t in turns])
    cast = cast_of(transcript, [{"name": n, "role": r} for n, r in people])
    template = templates["care-act-assessment"]
    section = next(s for s in template.sections if s.quote)
    quoted = _quote(section, template, cast, transcript.segments, embedder)
    assert quoted is not None
    return quoted


def test_the_persons_words_quoted_are_their_answer_to_what_matters(
    templates: dict, embedder: Any
) -> None:
    turns = [
        ("social worker", "Who do you call if you need help?"),
        ("person", "I shout for Doreen next door. She's deaf as a post, mind."),
        ("social worker", "What matters most to you, Stan, in all this?"),
        ("person", "Stopping here. This flat. I'm not going in a home, I'll tell you that now."),
        ("social worker", "Would you ring the bank with me?"),
        ("person", "I'll tell you when you come back."),
    ]
    people = [("Tom Adeyemi", "social worker"), ("Stanley Greaves", "person")]
    text, segment = _care_act_quote(turns, people, templates, embedder)
    assert segment.id == 3 and text in segment.text  # the reply, character for character
    assert "not going in a home" in text


def test_what_matters_is_quoted_from_a_wish_not_from_a_disclosure(
    templates: dict, embedder: Any
) -> None:
    turns = [
        ("social worker", "What would you like to be able to do again?"),
        ("person", "I want to wash myself properly. It's... it's not dignified, my wife "
                   "helping me in the shower."),
        ("carer", "Arjun, should I tell her? There was the phone call."),
        ("person", "A man rang from the bank. I gave him my card number and the code "
                   "from my phone."),
    ]  # fmt: skip
    people = [("Claire Donovan", "social worker"), ("Arjun Mehta", "person"),
              ("Priya Mehta", "carer")]  # fmt: skip
    text, segment = _care_act_quote(turns, people, templates, embedder)
    assert segment.id == 1 and text in segment.text
    # The words go on after the trailing-off, to the end of what he said.
    assert text.startswith("I want to wash myself properly.") and text.endswith("shower.")


def test_the_words_quoted_for_what_matters_are_not_said_again_as_an_answer() -> None:
    from summarise.compose import _within

    quote = ("I want to wash myself properly. It's... it's not dignified, my wife helping me "
             "in the shower.")  # fmt: skip
    answer = ('Claire Donovan asked: "What would you like to be able to do again?" '
              'Arjun Mehta said: "I want to wash myself properly."')  # fmt: skip
    assert _within(answer, quote)  # the question is not part of what is quoted
    other = ('Claire Donovan asked: "And getting dressed?" '
             'Arjun Mehta said: "I can dress my top half."')  # fmt: skip
    assert not _within(other, quote)
    assert not _within('Claire Donovan asked: "What would you like?" Arjun Mehta agreed.', quote)


def test_what_matters_holds_wishes_and_the_rest_goes_where_it_belongs(
    templates: dict, garbage: Any, embedder: Any
) -> None:
    from summarise.placing import states_wish

    template = templates["care-act-assessment"]
    assert next(s for s in template.sections if s.key == "what-matters").wishes
    where = _placed([
        ("social worker", "How do you feel about it?"),
        ("person", "He's had a rough time. His marriage went, and he lost his job at the "
                   "depot."),
        ("social worker", "What would you like to be able to do again?"),
        ("person", "I want to go back to the temple on Sunday mornings and see my friends at "
                   "the bowls club."),
    ], template, [("Claire Donovan", "social worker"), ("Arjun Mehta", "person")], garbage,
       embedder)  # fmt: skip
    # How his son's life has gone is not what matters to him: it goes where it belongs.
    son = [t for t in where if "marriage went" in t]
    assert son and all(where[t] != "what-matters" for t in son), where
    assert any("temple" in t and k == "what-matters" for t, k in where.items())
    assert states_wish("She said she loves the dementia café.")
    assert not states_wish('Edna Pearson said: "No, love. Never."')
    assert not states_wish('Tom Adeyemi asked: "How long were you on the grass?" '
                           'Stanley Greaves said: "Half an hour, maybe more."')  # fmt: skip


def test_a_question_the_meeting_agreed_goes_under_its_decisions(
    templates: dict, garbage: Any, embedder: Any
) -> None:
    where = _placed([
        ("police", "She was found at two in the morning in a car with a man of twenty-three."),
        ("chair", "Are we agreed that the threshold for a section forty-seven enquiry is met, "
                  "given the risk of child sexual exploitation?"),
        ("police", "Agreed."),
        ("school nurse", "Yes."),
    ], templates["multi-agency-meeting"], [("Helen Price", "chair"), ("Sam Oduya", "police"),
                                           ("Priti Shah", "school nurse")],
       garbage, embedder)  # fmt: skip
    agreed = [t for t in where if t.endswith("agreed.")]
    assert agreed and where[agreed[0]] == "decisions", where
    assert any("man of twenty-three" in t and k == "risks" for t, k in where.items()), where


def test_why_the_visit_happened_goes_under_its_purpose_even_when_it_names_a_risk(
    templates: dict, garbage: Any, embedder: Any
) -> None:
    transcript = transcript_from_turns([
        {"speaker": "social worker", "text": "So, the reason I'm here is the call we had from "
                                             "the ambulance service after your fall last week."},
        {"speaker": "person", "text": "I went down by the bed and couldn't get up for two hours."},
    ])  # fmt: skip
    draft = draft_note(transcript, templates["home-visit"], garbage, embedder=embedder,
                       participants=[{"name": "Rachel Okafor", "role": "social worker"},
                                     {"name": "Edna Pearson", "role": "person"}])  # fmt: skip
    sections = {s.key: s for s in draft.sections}
    assert any("reason I'm here" in s.text for s in sections["purpose"].statements)
    from summarise.people import Person
    from summarise.placing import _about_purpose
    from summarise.write import Written

    worker = Person("SPEAKER_0", "Mark Jennings", "social worker", True)
    text = "So, the fire service came for a safety visit, and they asked us to pop in."
    said = transcript_from_turns([{"speaker": "social worker", "text": text}])
    written = Written("Mark Jennings said the fire service came for a safety visit.",
                      said.segments, worker, True)  # fmt: skip
    assert _about_purpose(written)
    assert not any("reason I'm here" in s.text for s in sections["risks"].statements)


def test_the_score_counts_no_quoted_word_or_question_asked_as_invented() -> None:
    from summarise.types import Citation, DraftSection, Statement

    script = {
        "id": "s", "template": "home-visit", "key_facts": [], "must_flag": [], "actions": [],
        "must_not_claim": ["hurt him"],
        "turns": [{"speaker": "social worker", "text": "I'm Ann. Den, have you ever hurt him? "
                                                       "Do you smoke?"},
                  {"speaker": "person", "text": "Roll-ups, in my armchair. Never hurt him."}],
    }  # fmt: skip
    cite = (Citation(1, 0.0, 1.0, "person"),)

    def draft_of(*texts: str) -> Draft:
        statements = tuple(Statement(f"r-{n}", t, cite, 1.0, ()) for n, t in enumerate(texts))
        return Draft("home-visit", "1", (DraftSection("risks", "Risks", "prose", statements, (),
                                                      ""),), "m", "", "v", "now")  # fmt: skip

    faithful = draft_of('Ann asked: "Have you ever hurt him?" Den said: "Roll-ups, in my '
                        'armchair."')  # fmt: skip
    assert score_social(script, faithful).invented == ()
    wrong = draft_of("Den said he hurt him.", "Den said Trevor smokes.")
    assert len(score_social(script, wrong).invented) == 2


def test_the_question_a_reply_answers_is_found_at_the_end_of_the_turn_before() -> None:
    from summarise.write import asked_in

    def turn(text: str) -> Any:
        return transcript_from_turns([{"speaker": "social worker", "text": text}]).segments[0]

    assert asked_in(turn("And getting dressed? Meals?")) == "And getting dressed? Meals?"
    assert asked_in(turn("And money? Some carers find that a worry.")) == "And money?"
    assert asked_in(turn("How was the weekend? Right. Lovely. Let's start.")) == ""


def test_a_short_sentence_leaning_on_the_one_before_is_quoted_with_it() -> None:
    # The model wrote each sentence up alone; "All of it." then says nothing, and the
    # write-up of the sentence before gave the speaker's shop to Jason.
    written, _calls, _accepted = _write_up(
        [("social worker", "How's money?"),
         ("person", "My pension goes in on a Thursday. Jason borrows the card to do my shop, "
                    "and by Tuesday it's gone. All of it.")],
        [("Tom Adeyemi", "social worker"), ("Stanley Greaves", "person")],
        "Stanley Greaves said his pension goes in on a Thursday.\n"
        "Jason borrows the card to do the shop, and by Tuesday it is gone.\nAll of it.",
    )  # fmt: skip
    texts = [w.text for w in written]
    assert texts == [
        "Stanley Greaves said his pension goes in on a Thursday.",
        'Stanley Greaves said: "Jason borrows the card to do my shop, and by Tuesday '
        "it's gone. All of it.\"",
    ]


def test_a_short_sentence_with_a_subject_of_its_own_is_left_as_written() -> None:
    from summarise.write import _leans_on_before

    for fragment in ("All of it.", "Thirteen shots to two.", "Worked in the end.",
                     "It was scary.", "Honestly, it's nothing.", "Well, I did before the "
                     "hospital."):  # fmt: skip
        assert _leans_on_before(fragment), fragment
    for whole in (
        "She's lost weight.",
        "Craig does her shopping.",
        "I was scared stiff.",
        "Her eyes aren't good.",
        "Tyler goes to school on Mondays and Fridays now.",
    ):
        assert not _leans_on_before(whole), whole


def test_the_speakers_my_given_to_someone_else_is_refused() -> None:
    cast = _cast([("social worker", "How's money?"), ("person", "Jason does my shop.")],
                 [{"name": "Tom Adeyemi", "role": "social worker"},
                  {"name": "Stanley Greaves", "role": "person"}])  # fmt: skip
    stan = cast.person("person")
    said = ["Jason borrows the card to do my shop."]
    assert refusal("Jason borrows the card to do his shop.", said, "", stan,
                   cast) == "ambiguous-possessive"  # fmt: skip
    assert refusal("Stanley Greaves said Jason borrows the card to do his shop.", said, "",
                   stan, cast) == "ambiguous-possessive"  # fmt: skip
    own = ["My pension goes in on a Thursday."]
    assert refusal("Stanley Greaves said his pension goes in on a Thursday.", own, "", stan,
                   cast) == ""  # fmt: skip
