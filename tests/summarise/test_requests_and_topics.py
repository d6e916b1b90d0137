"""Actions asked of someone and accepted, and risks put in everyday words."""

from __future__ import annotations

from typing import Any

from policies.topics import Topic
from summarise.actions import requested_action, restates_request
from summarise.grounding import topics_by_meaning


def _agreed(turns: list[tuple[str, str]], people: list[tuple[str, str]]) -> list[Any]:
    """The actions agreed in ``turns`` (role, words), with ``people`` (name, role) present."""
    from summarise import transcript_from_turns
    from summarise.agreed import agreed_actions
    from summarise.people import cast_of

    transcript = transcript_from_turns([{"speaker": r, "text": t} for r, t in turns])
    cast = cast_of(transcript, [{"name": n, "role": r} for n, r in people])
    return [a for a, _segment in agreed_actions(transcript.segments, cast)]


def test_a_request_accepted_becomes_the_action_of_whoever_accepted_it() -> None:
    found = requested_action(
        "Could you move the heater away from the boxes?", "No problem, I'll do it tonight.",
        "Sarah Okafor",
    )  # fmt: skip
    assert found == ("Move the heater away from the boxes", "tonight")


def test_the_reason_given_with_a_request_is_not_part_of_the_action() -> None:
    found = requested_action(
        "Could you text me that reference number today, so I can chase the police?",
        "Yeah, I'll text it you after.", "Sarah Okafor",
    )  # fmt: skip
    assert found == ("Text Sarah Okafor that reference number today", "today")


def test_you_asked_to_do_something_is_they_who_do_it_and_them_it_is_done_for() -> None:
    found = requested_action(
        "Could you write down the times he goes out, and the car if you see it?",
        "Yes, I can do that.", "Daniel Mensah",
    )  # fmt: skip
    assert found == ("Write down the times he goes out, and the car if they see it", None)
    found = requested_action("Would you ring Harjit to see if he can take you on Sunday?",
                             "I'll ring him tonight.", "Claire Donovan")  # fmt: skip
    assert found == ("Ring Harjit to see if he can take them on Sunday", "tonight")
    found = requested_action("Could you call the surgery when you're home?", "Yes.", "Jo Baker")
    assert found == ("Call the surgery when they are home", None)


def test_a_request_refused_or_a_question_for_information_is_no_action() -> None:
    assert requested_action("Could you move the heater?", "I can't, it's the only warm spot.",
                            "Sarah Okafor") is None  # fmt: skip
    assert requested_action("No, I won't.", "Yes.", "Sarah Okafor") is None
    assert requested_action("Can you tell me what happened?", "Yes, I fell.", "Sarah") is None
    assert requested_action("Can you show me the kitchen?", "Of course.", "Sarah") is None


def test_an_answer_that_only_restates_the_request_is_not_a_second_action() -> None:
    assert restates_request("Ring them on Monday morning")
    assert restates_request("Do that with him")
    assert not restates_request("Ring Harjit tonight")
    assert not restates_request("Refer to the falls clinic")
    ring = "Ring the GP surgery about a medication review"
    assert restates_request("Ring them first thing tomorrow", ring)
    assert not restates_request("Take that rug up this afternoon", ring)


def test_a_risk_in_everyday_words_is_found_by_meaning_and_ordinary_talk_is_not(
    embedder: Any,
) -> None:
    went_down = "She went down in the kitchen and was there until morning."
    purse = "Her nephew has been helping himself to money from her purse."
    falls = Topic("falls", "Falls", ("fell",), examples=(went_down,))
    money = Topic("financial-abuse", "Financial abuse", ("pension",), examples=(purse,))
    found = topics_by_meaning(
        embedder,
        [
            "Mrs Pearson said her grandson keeps taking money out of her purse.",
            "Mr Ellis said he collapsed on the kitchen floor and lay there all night.",
            "Mrs Pearson said she enjoys the lunch club on Tuesdays.",
        ],
        [falls, money],
    )
    assert found[0] == ("financial-abuse",) and found[2] == ()
    assert "falls" in found[1]


def test_topics_without_examples_are_not_matched_by_meaning(embedder: Any) -> None:
    plain = Topic("falls", "Falls", ("fell",))
    assert topics_by_meaning(embedder, ["She went down in the kitchen."], [plain]) == [()]


def test_with_the_shipped_topics_everyday_talk_is_not_a_risk_and_a_risk_in_other_words_is(
    embedder: Any, topics: tuple[Topic, ...]
) -> None:
    from policies.topics import load_ordinary

    found = topics_by_meaning(
        embedder,
        [
            "Mr Hughes said his tablets have to be on time, four times a day.",
            "Mrs Hughes said she helps him to the toilet three or four times a night.",
            "Mrs Pearson said her legs just went when she got up in the night.",
        ],
        topics,
        load_ordinary(),
    )
    assert found[0] == () and found[1] == ()
    assert "falls" in found[2]


def test_a_statement_resting_on_words_whose_speaker_was_uncertain_is_flagged(
    embedder: Any, templates: dict, topics: tuple[Topic, ...]
) -> None:
    from dataclasses import replace

    from summarise import draft_note, transcript_from_turns

    transcript = transcript_from_turns([
        {"speaker": "social worker", "text": "How have you been managing the stairs lately?"},
        {"speaker": "person", "text": "I have been sleeping on the settee for three weeks now."},
        {"speaker": "person", "text": "My daughter Priya comes round every Tuesday afternoon."},
    ])  # fmt: skip
    unsure = replace(transcript.segments[1], flags=("check-speaker",))
    transcript = replace(transcript, segments=(transcript.segments[0], unsure,
                                               transcript.segments[2]))  # fmt: skip
    draft = draft_note(transcript, templates["home-visit"], _Silent(), embedder=embedder,
                       topics=topics)  # fmt: skip
    statements = [s for section in draft.sections for s in section.statements]
    settee = [s for s in statements if "settee" in s.text]
    tuesday = [s for s in statements if "Tuesday" in s.text]
    assert settee and all("check-speaker" in s.flags for s in settee)
    assert tuesday and all("check-speaker" not in s.flags for s in tuesday)


class _Silent:
    """Writes nothing, so every statement is the speaker's own words: for testing flags."""

    name, sha256 = "silent", "0" * 64

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        return ""


def test_checking_that_someone_will_do_something_makes_it_theirs_once_they_say_yes() -> None:
    found = requested_action(
        "Sandra, you said you'd ring the GP surgery about a medication review?",
        "Yes, I'll ring them first thing tomorrow.", "Rachel Okafor",
    )  # fmt: skip
    assert found == ("Ring the GP surgery about a medication review", "tomorrow")
    found = requested_action(
        "And if you've been drinking, you'll ring your mum, Sheila, to have the kids, "
        "instead of Tyler looking after Mia?", "Yeah. I will.", "Zoe Clarke",
    )  # fmt: skip
    assert found == ("Ring their mum, Sheila, to have the kids if they have been drinking", None)


def test_an_action_keeps_to_what_will_be_done_in_the_words_of_a_note() -> None:
    from summarise.actions import extract_action

    back = extract_action("I'll come back on Monday the fifteenth, and the core group is on "
                          "the third", "Zoe Clarke", "Kelly Moss")  # fmt: skip
    assert back is not None and back.what == "Visit again on Monday the fifteenth"
    alarm = extract_action("you'll wear your pendant alarm", "Rachel Okafor", "Edna Pearson")
    assert alarm is not None and alarm.who == "Edna Pearson"
    assert alarm.what == "Wear their pendant alarm"


def test_a_book_or_a_schedule_spoken_of_is_no_action_but_booking_one_is() -> None:
    from summarise.actions import is_action

    assert not is_action("Our Kevin minds the post office book now, I never see it.")
    assert not is_action("The schedule for the carers is on the fridge.")
    assert is_action("Book her in for the falls clinic.")
    assert is_action("We should schedule a review in March.")


def test_a_yes_after_echoing_the_request_accepts_it_and_asking_leave_is_no_task() -> None:
    found = requested_action(
        "Would you ring your bank with me on Monday, when I come back, to order a new card?",
        "Monday. Aye, I can do that.", "Tom Adeyemi",
    )  # fmt: skip
    assert found == ("Ring their bank with Tom Adeyemi on Monday, to order a new card", "on Monday")
    assert requested_action("Monday?", "Tuesday. No, I can't.", "Tom") is None
    assert requested_action(
        "Stan, would you be happy for me to help you look through your bank statements?",
        "I suppose.", "Tom Adeyemi",
    ) is None  # fmt: skip


def test_a_persons_i_will_with_no_task_and_no_time_is_no_action() -> None:
    from summarise.actions import idle_promise

    assert idle_promise("I'll have the kettle on.")
    assert idle_promise("I'll ring you back.")
    assert idle_promise("I'll tell you that now")
    assert idle_promise("I'm going to call her Biscuit.")
    from summarise.agreed import _VAGUE

    assert _VAGUE.match("Leave Tyler to Tyler's cereal")  # leaving the room, not a task
    assert not _VAGUE.match("Leave the forms with Priya by Friday")
    assert idle_promise("I'll think about it.")
    assert idle_promise("I'll tell you when you come back.")
    assert not idle_promise("I'll think about the care home and ring you on Friday.")
    assert not idle_promise("I'm going to call Biscuit's vet tomorrow.")
    assert not idle_promise("I'll ring Dylan tonight and tell him.")
    assert not idle_promise("I'll keep a diary of when he goes out")
    assert not idle_promise("I'll ring you if he goes missing again")


def test_the_closing_of_a_visit_gives_its_real_actions_and_their_times() -> None:
    from summarise import transcript_from_turns
    from summarise.agreed import agreed_actions
    from summarise.people import cast_of

    transcript = transcript_from_turns([
        {"speaker": "social worker", "text": "Could you move the heater away from the boxes?"},
        {"speaker": "person", "text": "Aye. I'll move it this afternoon, soon as you've gone."},
        {"speaker": "social worker", "text": "We'll go carefully, and you decide what happens. "
                                             "We'll go at your pace. Let's keep your safety "
                                             "the focus. Great. I'll see you Monday at ten."},
        {"speaker": "person", "text": "Ten. I'll have the kettle on."},
    ])  # fmt: skip
    cast = cast_of(transcript, [{"name": "Mark Jennings", "role": "social worker"},
                                {"name": "Dennis Hale", "role": "person"}])  # fmt: skip
    actions = [a for a, _segment in agreed_actions(transcript.segments, cast)]
    assert [(a.who, a.what, a.by_when) for a in actions] == [
        ("Dennis Hale", "Move the heater away from the boxes", "this afternoon"),
        ("Mark Jennings", "See Dennis Hale Monday at ten", "Monday at ten"),
    ]


def test_an_action_given_to_someone_for_their_service_is_theirs_with_its_time() -> None:
    from summarise import transcript_from_turns
    from summarise.actions import deadline
    from summarise.agreed import agreed_actions
    from summarise.people import cast_of

    transcript = transcript_from_turns([
        {"speaker": "chair", "text": "Let's agree actions. Kirsty, you'll see Lee on his own "
                                     "within forty-eight hours. Nadia, police will do a welfare "
                                     "check at the flat tonight and consider a closure order."},
        {"speaker": "police", "text": "Yes, that's fine."},
    ])  # fmt: skip
    cast = cast_of(transcript, [{"name": "Helen Marsh", "role": "chair"},
                                {"name": "Nadia Rahman", "role": "police"},
                                {"name": "Kirsty Webb", "role": "social worker"}])  # fmt: skip
    actions = [a for a, _segment in agreed_actions(transcript.segments, cast)]
    assert [(a.who, a.by_when) for a in actions] == [
        ("Kirsty Webb", "within forty-eight hours"),
        ("Nadia Rahman", "tonight"),
    ]
    assert actions[1].what.startswith("Do a welfare check at the flat")
    meeting = transcript_from_turns([
        {"speaker": "chair", "text": "We'll reconvene on the twenty-second."},
        {"speaker": "police", "text": "Fine."}, {"speaker": "social worker", "text": "Yes."},
        {"speaker": "chair", "text": "Will you do that?"},
        {"speaker": "social worker", "text": "Yes, I will."},
    ])  # fmt: skip
    everyone = cast_of(meeting, [{"name": "Helen Marsh", "role": "chair"},
                                 {"name": "Nadia Rahman", "role": "police"},
                                 {"name": "Kirsty Webb", "role": "social worker"}])  # fmt: skip
    found = [a for a, _segment in agreed_actions(meeting.segments, everyone)]
    assert [(a.who, a.what) for a in found] == [
        ("Helen Marsh and the others present", "Reconvene on the twenty-second")
    ]  # "do that" is no action of its own
    assert deadline("I'll sit with him for two hours on Monday") == "on Monday"


def test_someone_spoken_to_by_a_short_name_is_the_you_of_the_action() -> None:
    from summarise import transcript_from_turns
    from summarise.agreed import agreed_actions
    from summarise.people import cast_of

    transcript = transcript_from_turns([
        {"speaker": "family member", "text": "I'll ring Mum tonight and tell her."},
        {"speaker": "social worker", "text": "Thanks, Callum. Win, I'll also ring your GP "
                                             "surgery tomorrow. Win, you're going to keep the "
                                             "back door shut at night."},
    ])  # fmt: skip
    cast = cast_of(transcript, [{"name": "Priya Chandran", "role": "social worker"},
                                {"name": "Winifred Ashworth", "role": "person"},
                                {"name": "Callum", "role": "family member"}])  # fmt: skip
    actions = [a for a, _segment in agreed_actions(transcript.segments, cast)]
    assert [(a.who, a.what) for a in actions] == [
        ("Callum", "Ring Mum tonight and tell her"),
        ("Priya Chandran", "Ring Winifred Ashworth's GP surgery tomorrow"),
        ("Winifred Ashworth", "Keep the back door shut at night"),
    ]


def test_what_we_aim_for_agreed_is_the_persons_to_do_and_advice_to_smoke_elsewhere_too() -> None:
    from summarise.actions import imperative_action

    found = requested_action(
        "And could we aim for a clear path in the hall, about a metre wide, by my next visit?",
        "I can do that. Keith might help if I ask him Sunday.",
        "Mark Jennings",
    )
    assert found == ("Aim for a clear path in the hall, about a metre wide, by Mark Jennings's "
                     "next visit", "Mark Jennings's next visit")  # fmt: skip
    assert imperative_action("Smoke at the kitchen table, by the window.") == (
        "Smoke at the kitchen table, by the window"
    )
    assert imperative_action("Smoke yourself silly.") is None


def test_a_saying_that_uses_a_risks_words_for_something_else_is_no_risk() -> None:
    from policies.topics import load_topics

    topics = {t.key: t for t in load_topics()}
    assert not topics["risk-to-child"].matches("Stanley Greaves said he has bruised his pride.")
    assert topics["risk-to-child"].matches("There was a bruise on her arm nobody explained.")
    assert not topics["falls"].matches("He fell asleep in his chair after lunch.")
    assert topics["falls"].matches("He fell in the kitchen on Sunday.")
    assert not any(t.matches("Honestly, I could murder a cup of tea.") for t in topics.values())
    assert not topics["falls"].matches("He used to watch the stock market fall every night.")
    from policies.topics import everyday_saying

    assert everyday_saying("Graham said it would kill two birds.")  # asked of no model
    assert not everyday_saying("He fell on the ice and broke his wrist.")
    fire = topics["fire-gas"]
    assert not fire.matches('Mark said: "The fire service said you\'re diabetic."')  # who, not what
    assert fire.matches("The fire service came because the chip pan caught fire.")


def test_a_risk_said_as_not_having_happened_is_no_risk() -> None:
    from policies.topics import load_topics

    topics = {t.key: t for t in load_topics()}
    falls, child = topics["falls"], topics["risk-to-child"]
    assert not falls.matches('Priya said: "He didn\'t fall, he caught the towel rail."')
    assert not falls.matches("Joan said she has never fallen in her life.")
    assert not child.matches("His mother shouted, but she did not hit him.")
    assert not falls.matches('Daniel asked: "Any falls?" Irene said: "No, not one."')
    # Asked and not denied, or negated some words away from the risk: still flagged.
    assert falls.matches('Daniel asked: "Any falls?" Irene said: "Yes, two since May."')
    assert falls.matches("He was not sure of the day, but she fell on the stairs.")
    # Terms that carry their own negation are the risk itself.
    assert topics["missed-medication"].matches("She is not taking her tablets.")
    assert child.matches("There was no food in the house.")
    # What the person goes on to say after a no is still read.
    assert falls.matches('Daniel asked: "Any falls?" Irene said: "No. But I fell last year."')


def test_the_signs_practitioners_know_are_flagged_and_an_allowance_is_not_attendance() -> None:
    from policies.topics import load_topics

    topics = {t.key: t for t in load_topics()}
    fire, exploited = topics["fire-gas"], topics["exploitation"]
    assert fire.matches("The bar heater in the lounge is right up against those boxes.")
    assert fire.matches("Dennis Hale said he rolls up in his armchair.")
    assert exploited.matches('Shanice Doyle said: "He\'s got a second phone now."')
    assert exploited.matches("Tyler said he was just dropping stuff off for his mates.")
    assert not topics["risk-to-child"].matches("Alan has his pension and Attendance Allowance.")
    assert topics["risk-to-child"].matches("Her attendance has dropped to sixty per cent.")


def test_an_action_keeps_the_condition_said_before_it() -> None:
    from summarise.actions import extract_action

    found = requested_action(
        "And if the redness spreads or you get a temperature, you'll ring the surgery or 111 "
        "straight away?", "Yes, I will.", "Naomi Fraser",
    )  # fmt: skip
    assert found == (
        "Ring the surgery or 111 straight away if the redness spreads or they get a temperature",
        "straight away",
    )
    missing = extract_action("If he is not home by ten, you'll ring the police",
                             "Daniel Mensah", "Shanice Doyle")  # fmt: skip
    assert missing is not None
    assert missing.what == "Ring the police if he is not home by ten"


def test_a_time_said_just_before_an_action_is_when_it_is_done() -> None:
    from summarise.actions import extract_action

    bank = extract_action("Today I'll help you ring the bank to cancel the card",
                          "Aisha Rahman", "Marcus")  # fmt: skip
    assert bank is not None and bank.by_when == "today"
    fell = extract_action("On Sunday he fell, and I'll ring the GP", "Aisha Rahman", "Marcus")
    assert fell is not None and fell.by_when is None  # a time of something else


def test_an_action_names_someone_once_and_says_their_after() -> None:
    from summarise.compose import _named_once

    names = ["Winifred Ashworth", "Priya Mehta"]
    text = "Ring Winifred Ashworth's GP and ask them to check Winifred Ashworth's weight"
    said = "Ring Winifred Ashworth's GP and ask them to check their weight"
    assert _named_once(text, names) == said
    text = "Offer Priya Mehta a carer's assessment of Priya Mehta's own"
    assert _named_once(text, names) == "Offer Priya Mehta a carer's assessment of their own"
    assert _named_once("Give Priya Mehta the number", names) == "Give Priya Mehta the number"


def test_what_is_talked_about_and_a_break_in_the_visit_are_no_actions() -> None:
    from summarise.actions import extract_action

    said = "I've come to talk about where you'll live when you leave hospital."
    assert extract_action(said, "Lucy Barnes", "Joan") is None
    assert extract_action("I'll come back in ten minutes.", "Lucy Barnes", "Joan") is None
    found = extract_action("I'll come back in two weeks.", "Lucy Barnes", "Joan")
    assert found is not None and found.who == "Lucy Barnes" and found.by_when == "in two weeks"
    wanted = "And we'll need the boyfriend's name for police checks."
    assert extract_action(wanted, "Joanne Mills", "Amir Khan") is None
    found = extract_action("We'll need to book the interpreter.", "Joanne Mills", "Amir Khan")
    assert found is not None and found.what == "Need to book the interpreter"


def test_an_answer_dates_the_action_asked_and_the_next_visit_dates_when_i_come_back() -> None:
    people = [("Claire Donovan", "social worker"), ("Priya Mehta", "carer")]
    actions = _agreed([
        ("social worker", "I'll arrange a review and talk to you both about support. Priya, "
                          "you'll ring the bank to report the scam?"),
        ("carer", "Yes, I'll ring them first thing tomorrow."),
        ("social worker", "And we'll write an emergency plan together when I come back. I'll "
                          "come back on the ninth of next month to go through it all."),
    ], people)  # fmt: skip
    assert [(a.who, a.what, a.by_when) for a in actions] == [
        ("Claire Donovan", "Arrange a review and talk to both of them about support", None),
        ("Priya Mehta", "Ring the bank to report the scam", "tomorrow"),
        ("Claire Donovan and Priya Mehta", "Write an emergency plan together",
         "at the next visit, on the ninth of next month"),
        ("Claire Donovan", "Visit again on the ninth of next month to go through it all",
         "on the ninth of next month"),
    ]  # fmt: skip
    found = _agreed([
        ("social worker", "We'll write an emergency plan together when I come back. I'll come "
                          "back on the ninth to see your dad. I'll visit again on the twelfth "
                          "to meet your brother."),
    ], people)  # fmt: skip
    assert found[0].by_when == "when I come back"  # two dates: which one is not known


def test_a_recap_lists_each_task_once_with_its_own_time_and_says_in_full_what_was_it() -> None:
    from summarise.actions import task_list

    actions = _agreed([
        ("supervisor", "I'll convene it for two o'clock."),
        ("practitioner", "I'll book it this week."),
        ("supervisor", "So, to recap. I'll convene the strategy discussion for Lily at two "
                       "o'clock today and move two cases to Ellie this week. You'll log the "
                       "Finch incident today, do the lone working risk assessment by Friday, "
                       "and book the court skills course this week."),
    ], [("Joanne Mills", "supervisor"), ("Amir Khan", "practitioner")])  # fmt: skip
    assert [(a.who, a.what, a.by_when) for a in actions] == [
        ("Joanne Mills", "Convene the strategy discussion for Lily at two o'clock today", "today"),
        ("Amir Khan", "Book the court skills course this week", "this week"),
        ("Joanne Mills", "Move two cases to Ellie this week", "this week"),
        ("Amir Khan", "Log the Finch incident today", "today"),
        ("Amir Khan", "Do the lone working risk assessment by Friday", "by Friday"),
    ]  # fmt: skip
    assert len(actions[0].citations) == 2  # where it was first said, and where in full
    errand = "Ring the fire service today and ask them to swap the alarm for a heat alarm"
    assert task_list(errand) == [errand]  # one errand, not two tasks


def test_what_to_do_said_first_is_for_the_one_spoken_to() -> None:
    actions = _agreed([
        ("practitioner", "Court. I'm nervous about giving evidence."),
        ("supervisor", "There's a court skills course on the fourteenth of October. Book it, "
                       "and you can shadow Bev at court next month."),
    ], [("Joanne Mills", "supervisor"), ("Amir Khan", "practitioner")])  # fmt: skip
    assert [a.who for a in actions] == ["Amir Khan"]
    assert actions[0].what.startswith("Book it")


def test_what_the_visit_is_to_talk_about_is_no_action() -> None:
    actions = _agreed([
        ("social worker", "Leonard, today I'd like to talk about whether to have carers coming "
                          "in to help you wash. I'll talk to the district nurse about your "
                          "dressings."),
        ("person", "Go on then."),
    ], [("Naomi Fraser", "social worker"), ("Leonard Shaw", "person")])  # fmt: skip
    assert [a.what for a in actions] == [
        "Talk to the district nurse about Leonard Shaw's dressings"
    ]


def test_a_day_that_names_a_club_is_not_when_something_is_done() -> None:
    from summarise.actions import deadline

    assert deadline("Look into community transport for the Tuesday club") is None
    assert deadline("Book her into the Friday group next week") == "next week"
    assert deadline("Ring the club on Tuesday") == "on Tuesday"
