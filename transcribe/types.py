"""Results and options of transcription, as frozen dataclasses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Protocol

__all__ = [
    "Progress",
    "Segment",
    "SpeakerTurn",
    "TranscribeOptions",
    "Transcriber",
    "Transcript",
    "VOICE_MODELS",
    "Word",
]

#: Called with the fraction of audio processed so far (0.0 to 1.0).
Progress = Callable[[float], None]


@dataclass(frozen=True)
class Word:
    """One recognised word.

    Attributes:
        start: Start time in seconds from the beginning of the recording.
        end: End time in seconds.
        text: The word as recognised, with its leading space if any.
        probability: The model's confidence in the word, 0 to 1.
    """

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    """A stretch of speech by one speaker.

    Attributes:
        id: Position of the segment in the transcript, from 0; citations refer to it.
        start: Start time in seconds.
        end: End time in seconds.
        text: What was said, stripped of surrounding spaces.
        speaker: Speaker label (``"SPEAKER_1"``...) or a role/name once renamed;
            ``None`` when diarisation was not run.
        words: The words with their own times and probabilities.
        avg_logprob: Whisper's mean log-probability of the segment's tokens.
        no_speech_prob: Whisper's probability that the window held no speech.
        compression_ratio: gzip compression ratio of the text; high values mean loops.
        flags: Warnings for the reviewer, e.g. ``"repetition"``,
            ``"possible-hallucination"`` or ``"check-speaker"`` (the voice does not
            settle who said it).
        speaker_confidence: How much more the segment's voice resembles its speaker
            than the next most alike speaker (difference of cosine similarities to
            their average voices, about -1 to 1; near 0, it could be either).
            ``None`` when speakers were not labelled or only one was found, and in
            transcripts made before it was measured.
        original_ids: In an English translation, the ids of the segments in the
            language spoken that this one overlaps in time (see
            :attr:`Transcript.original` and :attr:`Transcript.translation`); empty
            otherwise.
    """

    id: int
    start: float
    end: float
    text: str
    speaker: str | None = None
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    flags: tuple[str, ...] = ()
    speaker_confidence: float | None = None
    original_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of time given to one speaker.

    Attributes:
        start: Start in seconds.
        end: End in seconds.
        speaker: Speaker label.
    """

    start: float
    end: float
    speaker: str


_SEGMENT_FIELDS = frozenset(f.name for f in fields(Segment))


@dataclass(frozen=True)
class Transcript:
    """A whole recording, transcribed.

    Attributes:
        segments: The segments in time order; ``segments[i].id == i``.
        language: Language code spoken (detected or given), e.g. ``"en"``; it stays
            the language spoken when :meth:`english` puts the translation first.
        language_probability: Confidence of the language detection (1.0 if given).
        duration: Length of the audio in seconds.
        model: Name or directory of the Whisper model used.
        speakers: The distinct speaker labels, in order of first appearance.
        translation: English translation of the segments when the recording was in
            another language and translation was asked for; the original stays in
            ``segments``, and each English segment's ``original_ids`` point at it.
        source: File name of the recording (no directory).
        original: Set by :meth:`english`: the segments in the language spoken, while
            ``segments`` hold their English translation; ``None`` otherwise.
        turns: Who speaks when, frame by frame (about 17 ms), when the speech
            segmentation model ran: turns cover the speech it found, the pauses between
            words included, and overlap where two people speak at once; each takes the
            label of the segments' speaker (``SPEAKER_1``...) as first given. Empty
            when speakers were not labelled, without the model, and in transcripts made
            before it was added.
    """

    segments: tuple[Segment, ...]
    language: str
    duration: float
    model: str
    language_probability: float = 1.0
    speakers: tuple[str, ...] = ()
    translation: tuple[Segment, ...] | None = None
    source: str = ""
    original: tuple[Segment, ...] | None = None
    turns: tuple[SpeakerTurn, ...] = ()

    @property
    def text(self) -> str:
        """The whole transcript as one string."""
        return " ".join(s.text for s in self.segments)

    def english(self) -> Transcript:
        """The transcript to write an English note from.

        Returns:
            For a translated recording, a transcript whose ``segments`` are the English
            translation (each with its ``original_ids``) and whose ``original`` holds
            the words as spoken; any other transcript unchanged.
        """
        if not self.translation:
            return self
        return replace(self, segments=self.translation, translation=None, original=self.segments)

    def original_of(self, segment: Segment) -> tuple[Segment, ...]:
        """The original-language segments an English segment was translated from."""
        spoken = self.original or ()
        return tuple(spoken[i] for i in segment.original_ids if 0 <= i < len(spoken))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        """Build a transcript from :meth:`to_dict` output (or JSON read back).

        Transcripts stored by earlier versions load too: fields they lack take their
        defaults, and fields this version does not know are ignored.
        """

        def seg(d: dict[str, Any]) -> Segment:
            words = tuple(Word(**w) for w in d.get("words", ()))
            tuples = {"words", "flags", "original_ids"}
            rest = {k: v for k, v in d.items() if k in _SEGMENT_FIELDS - tuples}
            return Segment(
                words=words,
                flags=tuple(d.get("flags", ())),
                original_ids=tuple(int(i) for i in d.get("original_ids", ())),
                **rest,
            )

        translation = data.get("translation")
        original = data.get("original")
        return cls(
            segments=tuple(seg(s) for s in data["segments"]),
            language=data["language"],
            duration=float(data["duration"]),
            model=data["model"],
            language_probability=float(data.get("language_probability", 1.0)),
            speakers=tuple(data.get("speakers", ())),
            translation=tuple(seg(s) for s in translation) if translation else None,
            source=data.get("source", ""),
            original=tuple(seg(s) for s in original) if original else None,
            turns=tuple(
                SpeakerTurn(float(t["start"]), float(t["end"]), str(t["speaker"]))
                for t in data.get("turns", ())
            ),
        )


@dataclass(frozen=True)
class TranscribeOptions:
    """How to transcribe a recording.

    Attributes:
        model: ``"base"`` (packaged, multilingual, default), ``"tiny.en"`` (packaged,
            fast, English only) or the path of any CTranslate2 Whisper directory.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        compute_type: ``"auto"`` gives float16 on CUDA and int8 on CPU.
        language: Language code to force, or ``None`` to detect it.
        translate: Also translate to English when the language is not English.
        vocabulary: Names of places, services and teams to help recognition.
        diarise: Label speakers.
        num_speakers: Exact number of speakers if known; ``None`` to detect.
        max_speakers: Upper bound when detecting the number of speakers.
        vad: Skip non-speech with voice-activity detection.
        beam_size: Beam width for decoding.
        batch_size: Batch size for batched decoding; 0 decodes sequentially.
        max_duration_s: Recordings longer than this are refused.
        chunk_seconds: Audio is decoded and transcribed this many seconds at a time,
            so memory stays bounded on long recordings.
        cpu_threads: CPU threads for Whisper; 0 lets CTranslate2 choose.
        voice_model: The voice model that tells speakers apart: ``"campplus"`` (CAM++,
            the default, lower error on the recordings measured) or ``"resemblyzer"``
            (faster on a CPU).
    """

    model: str = "base"
    device: str = "auto"
    compute_type: str = "auto"
    language: str | None = None
    translate: bool = False
    vocabulary: tuple[str, ...] = field(default_factory=tuple)
    diarise: bool = True
    num_speakers: int | None = None
    max_speakers: int = 6
    vad: bool = True
    beam_size: int = 5
    batch_size: int = 0
    max_duration_s: float = 4 * 3600.0
    chunk_seconds: float = 600.0
    cpu_threads: int = 0
    voice_model: str = "campplus"


#: The voice models that tell speakers apart, by the name options and settings use.
VOICE_MODELS = ("campplus", "resemblyzer")


class Transcriber(Protocol):
    """Anything that turns a recording into a :class:`Transcript`.

    The real one wraps faster-whisper; tests of other parts may pass a fake.
    """

    def transcribe(
        self, path: str, options: TranscribeOptions, progress: Progress | None = None
    ) -> Transcript:
        """Transcribe the recording at ``path``."""
        ...
