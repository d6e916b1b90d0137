"""Spoken visits: scripted social-care conversations, voiced, transcribed and scored.

Each script (the JSON format of benchmarks/social/) is spoken turn by turn with
espeak-ng, one voice per speaker (a different voice variant, pitch and speed each),
with short pauses between turns, and joined into one 16 kHz mono WAV. The true turn
boundaries and speakers are kept as the reference. The recording is then transcribed
as the web app's background job does it (the packaged base model, speaker count
bounded by the number of participants listed, on the CPU), and scored:

- word error rate against the script's words (normalised, as benchmarks/transcribe.py),
- speakers found against the true number,
- DER, strict (no collar) and with a 0.25 s collar, against the true turns,
- the share of Whisper's sentences whose words were given to more than one speaker,
- speaker-name accuracy: after the participants list names the speakers (as drafting
  does, ``summarise.people.cast_of``), the share of words, said by someone whose name
  is listed, that are put to that person.

With ``--draft`` it also drafts the note twice, from the script's own turns and from
the transcript, and scores both with the social scorer (key facts, must-flag, actions).

espeak-ng must be installed (``apt-get install espeak-ng``); it is not part of set-up.

Usage: .venv/bin/python benchmarks/spoken_visits.py SCRIPT.json [...] [--out FILE]
       [--draft] [--batch 8] [--threads 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATE = 16000
#: espeak-ng voice (with variant), pitch (0-99) and speed (words a minute), by the
#: order in which speakers first speak.
VOICES = (
    ("en-gb+m3", 40, 160),
    ("en-us+f2", 75, 170),
    ("en-gb-x-rp+m1", 25, 150),
    ("en-gb-scotland+f4", 60, 165),
    ("en-gb-x-gbcwmd+m4", 50, 175),
    ("en-us+f3", 85, 155),
)
PAUSE_S = (0.4, 0.9)


@dataclass(frozen=True)
class SpokenTurn:
    """One turn as spoken: when, by whom (the script's role) and what."""

    start: float
    end: float
    speaker: str
    text: str


def _speak(text: str, voice: tuple[str, int, int], folder: Path) -> np.ndarray:
    """One turn spoken by espeak-ng, as 16 kHz float samples without edge silence."""
    from scipy.signal import resample_poly

    name, pitch, speed = voice
    raw = folder / "turn.wav"
    command = ["espeak-ng", "-v", name, "-p", str(pitch), "-s", str(speed), "-w", str(raw)]
    subprocess.run(command, input=text.encode("utf-8"), check=True)
    with wave.open(str(raw), "rb") as f:
        rate = f.getframerate()
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16)
    audio = samples.astype(np.float32) / 32768.0
    if rate != RATE:
        divisor = np.gcd(rate, RATE)
        audio = resample_poly(audio, RATE // divisor, rate // divisor).astype(np.float32)
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio[:0]


def speak_script(script: dict[str, Any], path: Path, seed: int = 0) -> list[SpokenTurn]:
    """Speak a script's turns into one 16 kHz mono WAV; return the true turns.

    Args:
        script: The script (``turns`` of ``speaker`` and ``text``).
        path: Where to write the WAV.
        seed: Seeds the pauses between turns.

    Returns:
        Each turn with its start and end in the recording, in seconds.
    """
    pick = np.random.default_rng(seed)
    order = list(dict.fromkeys(t["speaker"] for t in script["turns"]))
    voices = {who: VOICES[i % len(VOICES)] for i, who in enumerate(order)}
    pieces: list[np.ndarray] = [np.zeros(int(0.5 * RATE), dtype=np.float32)]
    turns: list[SpokenTurn] = []
    at = len(pieces[0])
    with tempfile.TemporaryDirectory() as tmp:
        for turn in script["turns"]:
            audio = _speak(turn["text"], voices[turn["speaker"]], Path(tmp))
            turns.append(
                SpokenTurn(at / RATE, (at + len(audio)) / RATE, turn["speaker"], turn["text"])
            )
            gap = np.zeros(int(pick.uniform(*PAUSE_S) * RATE), dtype=np.float32)
            pieces += [audio, gap]
            at += len(audio) + len(gap)
    joined = np.clip(np.concatenate(pieces), -1.0, 1.0)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes((joined * 32767).astype(np.int16).tobytes())
    return turns


def write_rttm(turns: list[SpokenTurn], path: Path, file_id: str) -> None:
    """Write the true turns as RTTM (speaker names are the roles, spaces as ``_``)."""
    lines = [
        f"SPEAKER {file_id} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> "
        f"{t.speaker.replace(' ', '_')} <NA> <NA>"
        for t in turns
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _true_speaker(turns: list[SpokenTurn], moment: float) -> str:
    """The role speaking at ``moment``, or the nearest turn's when between turns."""
    return min(turns, key=lambda t: max(t.start - moment, moment - t.end, 0.0)).speaker


def name_accuracy(transcript: Any, turns: list[SpokenTurn], participants: list[dict]) -> dict:
    """Share of words put to the right participant once the speakers are named.

    Only words said by someone whose role has exactly one listed name are scored (the
    scripts leave out of the list anyone whose name is never said).

    Returns:
        ``accuracy`` (``None`` when no word could be scored), ``words`` scored,
        ``by_role``: the accuracy for each role's words, and ``names``: each speaker
        label and the name the participants list gave it.
    """
    from summarise.people import cast_of

    by_role: dict[str, list[str]] = {}
    for p in participants:
        by_role.setdefault(str(p.get("role", "")).lower(), []).append(str(p.get("name", "")))
    cast = cast_of(transcript, participants)
    counts: dict[str, list[int]] = {}
    for segment in transcript.segments:
        person = cast.person(segment.speaker)
        for word in segment.words:
            role = _true_speaker(turns, (word.start + word.end) / 2)
            if len(by_role.get(role, [])) != 1:
                continue
            tally = counts.setdefault(role, [0, 0])
            tally[0] += 1
            tally[1] += person.named and person.name == by_role[role][0]
    scored, right = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    return {
        "accuracy": right / scored if scored else None,
        "words": scored,
        "by_role": {role: right_ / n for role, (n, right_) in counts.items()},
        "names": {label: p.name for label, p in cast.people.items()},
    }


def score_transcript(transcript: Any, turns: list[SpokenTurn], script: dict[str, Any]) -> dict:
    """The transcription and speaker figures of one spoken script."""
    from transcribe import (
        SpeakerTurn,
        diarisation_error_rate,
        sentences_split_across_speakers,
        transcript_turns,
        word_error_rate,
    )
    from transcribe.metrics import transcript_sentences

    reference = [SpeakerTurn(t.start, t.end, t.speaker) for t in turns]
    hypothesis = transcript_turns(transcript)
    sentences = len(transcript_sentences(transcript))
    split = sentences_split_across_speakers(transcript)
    naming = name_accuracy(transcript, turns, script.get("participants") or [])
    return {
        "id": script["id"],
        "audio_s": round(transcript.duration, 1),
        "words": sum(len(t.text.split()) for t in turns),
        "wer": word_error_rate(
            " ".join(t.text for t in turns), " ".join(s.text for s in transcript.segments)
        ),
        "speakers_true": len({t.speaker for t in turns}),
        "speakers_found": len({s.speaker for s in transcript.segments if s.speaker}),
        "der_collar": diarisation_error_rate(reference, hypothesis),
        "der_strict": diarisation_error_rate(reference, hypothesis, collar=0.0),
        "sentences": sentences,
        "split_sentences": split,
        "split_share": split / sentences if sentences else 0.0,
        "name_accuracy": naming["accuracy"],
        "named_words": naming["words"],
        "name_accuracy_by_role": naming["by_role"],
        "names": naming["names"],
        "transcript": [[s.start, s.end, s.speaker, s.text] for s in transcript.segments],
    }


def transcribe_spoken(path: Path, participants: list[dict], batch: int, threads: int) -> Any:
    """Transcribe as the web app's job does: base model, speakers bounded by the list."""
    from transcribe import TranscribeOptions, transcribe_file
    from webapp.pipeline.steps import lone_speaker_as_participant, speaker_options

    options = TranscribeOptions(model="base", device="cpu", batch_size=batch, cpu_threads=threads)
    options = speaker_options(options, len(participants))
    return lone_speaker_as_participant(transcribe_file(path, options), participants)


def draft_both(script: dict[str, Any], transcript: Any, drafter: Any) -> dict:
    """Draft from the script's turns and from the transcript; score both."""
    from policies import load_templates
    from summarise import draft_note, transcript_from_turns
    from summarise.social_eval import score_social

    template = load_templates()[script["template"]]
    participants = script.get("participants") or []
    out = {}
    sources = {"script": transcript_from_turns(script["turns"], source=script["id"])}
    sources["audio"] = transcript
    for label, source in sources.items():
        started = time.perf_counter()
        draft = draft_note(source, template, drafter, participants=participants)
        score = score_social(script, draft, time.perf_counter() - started)
        out[label] = {
            "key_facts": score.key_facts,
            "must_flag": score.must_flag,
            "actions": score.actions,
            "actions_dated": score.actions_dated,
            "missed_facts": list(score.missed_facts),
            "missed_flags": list(score.missed_flags),
            "missed_actions": list(score.missed_actions),
            "invented": list(score.invented),
            "seconds": round(score.seconds, 1),
        }
    return out


def run(paths: list[Path], args: argparse.Namespace) -> list[dict]:
    """Speak, transcribe and score each script (and draft, with ``--draft``)."""
    from summarise.social_eval import read_scripts

    drafter = None
    if args.draft:
        from summarise import load_drafter

        drafter = load_drafter(args.model, device="cpu")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for script in read_scripts(paths):
            audio = Path(tmp) / f"{script['id']}.wav"
            turns = speak_script(script, audio, args.seed)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(audio, args.keep / audio.name)
                write_rttm(turns, args.keep / f"{script['id']}.rttm", script["id"])
            started = time.perf_counter()
            participants = script.get("participants") or []
            transcript = transcribe_spoken(audio, participants, args.batch, args.threads)
            row = score_transcript(transcript, turns, script)
            row["transcribe_s"] = round(time.perf_counter() - started, 1)
            row["reference"] = [asdict(t) for t in turns]
            if drafter is not None:
                row["draft"] = draft_both(script, transcript, drafter)
            rows.append(row)
            print(f"{script['id']}: done in {row['transcribe_s']} s", file=sys.stderr)
    return rows


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def print_tables(rows: list[dict]) -> None:
    """Print the figures as Markdown tables."""
    print("| script | audio | WER | speakers (found / true) | DER (0.25 s collar) | "
          "DER (strict) | split sentences | speaker-name accuracy |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['id']} | {r['audio_s']:.0f} s | {_percent(r['wer'])} | "
            f"{r['speakers_found']} / {r['speakers_true']} | {_percent(r['der_collar'])} | "
            f"{_percent(r['der_strict'])} | {r['split_sentences']} of {r['sentences']} "
            f"({_percent(r['split_share'])}) | {_percent(r['name_accuracy'])} "
            f"({r['named_words']} words) |"
        )
    drafted = [r for r in rows if "draft" in r]
    if drafted:
        print("\n| script | drafted from | key facts | must-flag | actions | actions dated |")
        print("|---|---|---|---|---|---|")
        for r in drafted:
            for source, s in r["draft"].items():
                print(
                    f"| {r['id']} | {source} | {_percent(s['key_facts'])} | "
                    f"{_percent(s['must_flag'])} | {_percent(s['actions'])} | "
                    f"{_percent(s['actions_dated'])} |"
                )


def main() -> int:
    """Speak, transcribe and score the scripts given; print tables and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="+", type=Path, help="script files or folders")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    parser.add_argument("--draft", action="store_true", help="also draft and score the note")
    parser.add_argument("--model", help="drafting model (the packaged default if not given)")
    parser.add_argument("--batch", type=int, default=8, help="Whisper batch size, 0 in order")
    parser.add_argument("--threads", type=int, default=0, help="Whisper CPU threads, 0: auto")
    parser.add_argument("--seed", type=int, default=0, help="seeds the pauses between turns")
    parser.add_argument("--keep", type=Path, help="keep each WAV and its RTTM in this folder")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not installed (apt-get install espeak-ng).", file=sys.stderr)
        return 2
    rows = run(args.scripts, args)
    print_tables(rows)
    if args.out:
        figures = {"settings": vars(args), "voices": VOICES, "rows": rows}
        args.out.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
