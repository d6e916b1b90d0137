"""Templates and high-stakes topics are policy data, validated at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import PolicyError, Template, load_templates, load_topics
from policies.topics import match_topics

SHIPPED = {
    "home-visit",
    "care-act-assessment",
    "child-family-visit",
    "supervision",
    "multi-agency-meeting",
    "carers-conversation",
    "clinical-soap",
    "mental-capacity-assessment",
}

GOOD = """
name = "{name}"
title = "A visit"
version = "1.0"
speaker_roles = ["social worker", "person"]

[[sections]]
key = "what-matters"
title = "What matters to the person"
guidance = "What the person said matters to them."
style = "prose"
"""


def _write(folder: Path, filename: str, text: str) -> Path:
    path = folder / filename
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_template_loads_with_sections_styles_and_a_version() -> None:
    templates = load_templates()
    assert SHIPPED <= set(templates)
    for template in templates.values():
        assert isinstance(template, Template)
        assert template.sections and template.version and template.title
        assert all(s.style in ("prose", "bullets", "actions") for s in template.sections)
        assert all(s.guidance and s.title for s in template.sections)


def test_social_work_templates_use_the_headings_a_uk_social_worker_expects() -> None:
    titles = {s.title for s in load_templates()["home-visit"].sections}
    assert {"What matters to the person", "Strengths and support network",
            "Risks and safeguarding", "Agreed actions"} <= titles  # fmt: skip
    carer = {s.title for s in load_templates()["care-act-assessment"].sections}
    assert "Views of the carer" in carer


def test_a_mental_capacity_assessment_may_not_be_recorded() -> None:
    templates = load_templates()
    assert templates["mental-capacity-assessment"].recording_allowed is False
    assert templates["home-visit"].recording_allowed is True


def test_clinical_soap_follows_the_reference_notes_headings() -> None:
    titles = [s.title for s in load_templates()["clinical-soap"].sections]
    for heading in ("CHIEF COMPLAINT", "HISTORY OF PRESENT ILLNESS", "REVIEW OF SYSTEMS",
                    "RESULTS", "ASSESSMENT AND PLAN"):  # fmt: skip
        assert heading in titles


def test_a_template_with_an_unknown_style_is_refused_naming_file_and_field(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "bad.toml", GOOD.format(name="bad").replace('"prose"', '"essay"'))
    with pytest.raises(PolicyError) as caught:
        load_templates(tmp_path)
    message = str(caught.value)
    assert str(path) in message and "sections[0]" in message and "'style'" in message


def test_a_template_without_a_title_is_refused_naming_the_field(tmp_path: Path) -> None:
    _write(tmp_path, "untitled.toml", GOOD.format(name="x").replace('title = "A visit"\n', ""))
    with pytest.raises(PolicyError, match=r"untitled\.toml: missing field 'title'"):
        load_templates(tmp_path)


def test_a_template_with_no_sections_is_refused(tmp_path: Path) -> None:
    text = GOOD.format(name="empty").split("[[sections]]")[0]
    _write(tmp_path, "empty.toml", text)
    with pytest.raises(PolicyError, match=r"empty\.toml: field 'sections' is missing or empty"):
        load_templates(tmp_path)


def test_a_bad_version_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "v.toml", GOOD.format(name="v").replace('"1.0"', '"latest"'))
    with pytest.raises(PolicyError, match=r"v\.toml: field 'version'"):
        load_templates(tmp_path)


def test_two_files_defining_the_same_template_name_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.toml", GOOD.format(name="same"))
    _write(tmp_path, "b.toml", GOOD.format(name="same"))
    with pytest.raises(PolicyError, match=r"b\.toml: field 'name': template 'same' is already"):
        load_templates(tmp_path)


def test_broken_toml_is_refused_with_the_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "broken.toml", 'name = "x"\ntitle = \n')
    with pytest.raises(PolicyError, match=r"broken\.toml: not valid TOML.*line 2"):
        load_templates(tmp_path)


def test_the_policy_folder_can_be_moved_with_an_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "templates").mkdir()
    _write(tmp_path / "templates", "only.toml", GOOD.format(name="only"))
    monkeypatch.setenv("CARENOTES_POLICY_DIR", str(tmp_path))
    assert set(load_templates()) == {"only"}


def test_high_stakes_topics_are_the_categories_a_practitioner_recognises() -> None:
    topics = load_topics()
    keys = {t.key for t in topics}
    assert {"risk-to-self", "risk-to-child", "domestic-abuse", "financial-abuse",
            "exploitation", "falls", "missed-medication", "self-neglect", "fire-gas",
            "mental-capacity", "safeguarding", "medication"} <= keys  # fmt: skip
    assert "risk-to-self" in match_topics("She said she has had suicidal thoughts.", topics)
    assert "domestic-abuse" in match_topics("She said he hits me when he drinks.", topics)
    assert "financial-abuse" in match_topics("Her neighbour collects her pension.", topics)
    assert "medication" in match_topics("She takes 20 mg of sertraline.", topics)
    assert "falls" in match_topics("She fell in the kitchen on Monday.", topics)
    assert "fire-gas" in match_topics("He left the gas hob on.", topics)
    assert match_topics("They enjoyed the garden.", topics) == ()


def test_a_name_a_date_or_a_number_alone_is_not_a_risk_category() -> None:
    shapes = {"names", "dates", "numbers", "addresses"}
    topics = tuple(t for t in load_topics() if t.key not in shapes)
    assert match_topics("Tom Bailey will visit again on 9 January at 10am.", topics) == ()
    assert match_topics("Mrs Patel thanked Priya for letting her in today.", topics) == ()
    assert match_topics("Her brother Dylan lives in Cardiff and rings on Sundays.", topics) == ()


def test_a_topic_with_an_unknown_detector_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "topics.toml",
                  '[[topics]]\nkey = "x"\ntitle = "X"\ndetector = "postcodes"\n')  # fmt: skip
    with pytest.raises(PolicyError, match=r"topics\.toml: topics\[0\]: field 'detector'"):
        load_topics(path)
