"""Fixtures for the drafting tests: the real packaged models, loaded once per session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies import Template, load_templates, load_topics
from policies.topics import Topic
from summarise import load_drafter, load_embedder, transcript_from_turns
from transcribe.types import Transcript


@pytest.fixture(scope="session")
def templates() -> dict[str, Template]:
    """The shipped templates."""
    return load_templates()


@pytest.fixture(scope="session")
def topics() -> tuple[Topic, ...]:
    """The shipped high-stakes topics."""
    return load_topics()


@pytest.fixture(scope="session")
def drafter() -> Any:
    """The packaged SmolLM2-135M-Instruct, on the CPU with transformers (extractive mode)."""
    return load_drafter("smollm2-135m", device="cpu", backend="transformers")


@pytest.fixture(scope="session")
def writer() -> Any:
    """The packaged default model (Qwen2.5-1.5B-Instruct), run as drafts run it here."""
    return load_drafter(device="cpu")


@pytest.fixture(scope="session")
def scripts(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The scripted social-care conversations in tests/data/social, by id."""
    found = {}
    for path in sorted((data_dir / "social").glob("*.json")):
        script = json.loads(path.read_text(encoding="utf-8"))
        found[script["id"]] = script
    return found


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The packaged all-MiniLM-L6-v2."""
    return load_embedder("cpu")


@pytest.fixture(scope="session")
def dialogues(data_dir: Path) -> list[dict[str, Any]]:
    """The real ACI-Bench validation conversations with their reference notes."""
    lines = (data_dir / "aci_valid.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="session")
def visit(dialogues: list[dict[str, Any]]) -> Transcript:
    """One real doctor-patient conversation as a transcript."""
    return transcript_from_turns(dialogues[0]["turns"], source=dialogues[0]["id"])


class GarbageDrafter:
    """A language model that answers with everything a small model gets wrong.

    Attributes:
        name: Recorded in drafts.
        sha256: Recorded in drafts.
        calls: How many times it was asked.
    """

    name = "garbage"
    sha256 = "0" * 64

    REPLIES = (
        "<|im_start|>assistant\nThe patient said that<|im_end|>",
        "The patient patient patient patient patient patient patient patient.",
        "You write case notes. Rewrite what the speaker said as one short sentence.",
        "<think>I need to rewrite this in the third person.</think> The patient is well.",
        "",
        "The patient takes 500 mg of sertraline and has suicidal ideation.",
        "The patient did not say anything at all about that.",
        "I feel tired all the time.",
        '{"text": "The patient"}',
        "The patient reported that they were fine fine fine fine fine fine.",
        RuntimeError("model crashed"),
    )

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        reply = self.REPLIES[self.calls % len(self.REPLIES)]
        self.calls += 1
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture()
def garbage() -> GarbageDrafter:
    """A drafter returning junk, chat markup, loops, echoed prompts and invented facts."""
    return GarbageDrafter()
