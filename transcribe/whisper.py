"""The real transcriber: faster-whisper, chunk by chunk, with speaker labels."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from policies.errors import ModelUnavailable
from transcribe.audio import SAMPLE_RATE, AudioChunk, iter_chunks, probe_audio
from transcribe.diarise import DiarisationOptions, SpeakerEmbedder
from transcribe.errors import AudioError
from transcribe.models import ResolvedModel, resolve_device, resolve_model
from transcribe.segments import (
    collapse_repetitions,
    fit_words_to_speech,
    flag_hallucinations,
    renumber,
    split_at_sentences,
)
from transcribe.speakers import label_speakers
from transcribe.translation import check_language, pair_with_original, speakers_by_overlap
from transcribe.types import Progress, Segment, TranscribeOptions, Transcript, Word

if TYPE_CHECKING:
    from transcribe.segmentation import SpeechSegmenter

__all__ = ["WhisperTranscriber", "load_transcriber", "transcribe_file"]

logger = logging.getLogger(__name__)

_cache_lock = threading.Lock()
_transcribers: dict[tuple[str, str, str, int], WhisperTranscriber] = {}


@dataclass
class _Collected:
    """What the chunk loop gathers before the final assembly."""

    segments: list[Segment] = field(default_factory=list)
    translation: list[Segment] = field(default_factory=list)
    speech: list[tuple[float, float]] = field(default_factory=list)
    language: str | None = None
    language_probability: float = 1.0
    duration: float = 0.0


def _convert(raw: Any, offset: float) -> Segment:
    words = tuple(
        Word(
            start=round(float(offset + w.start), 3),
            end=round(float(offset + w.end), 3),
            text=w.word,
            probability=round(float(w.probability), 4),
        )
        for w in (raw.words or ())
    )
    return Segment(
        id=-1,
        start=round(float(offset + raw.start), 3),
        end=round(float(offset + raw.end), 3),
        text=raw.text.strip(),
        words=words,
        avg_logprob=float(raw.avg_logprob),
        no_speech_prob=float(raw.no_speech_prob),
        compression_ratio=float(raw.compression_ratio),
    )


class WhisperTranscriber:
    """faster-whisper behind the :class:`~transcribe.types.Transcriber` protocol.

    Load it with :func:`load_transcriber`, which keeps one per model and device.

    Args:
        resolved: The model folder.
        device: ``"cpu"`` or ``"cuda"``.
        compute_type: CTranslate2 compute type, e.g. ``"int8"`` or ``"float16"``.
        cpu_threads: CPU threads, 0 for CTranslate2's choice.
    """

    def __init__(
        self, resolved: ResolvedModel, device: str, compute_type: str, cpu_threads: int = 0
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        try:
            self.model = WhisperModel(
                str(resolved.path),
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelUnavailable(
                f"The Whisper model in {resolved.path} could not be loaded ({exc}). Check "
                "that the folder holds a complete CTranslate2 Whisper model."
            ) from exc
        if device == "cuda":
            self._check_gpu_runtime(resolved)
        self.batched = BatchedInferencePipeline(self.model)
        #: Tuning of the speaker labels (window sizes, clustering thresholds).
        self.diarisation = DiarisationOptions()
        self.name = resolved.name
        self.device = device
        self.compute_type = compute_type
        logger.info("loaded Whisper model %s on %s (%s)", resolved.name, device, compute_type)

    def _check_gpu_runtime(self, resolved: ResolvedModel) -> None:
        """Run the encoder once: CTranslate2 loads cuBLAS/cuDNN only on first use."""
        import numpy as np

        try:
            features = self.model.feature_extractor(np.zeros(30 * 16000, dtype=np.float32))
            self.model.encode(features[:, :3000])
        except RuntimeError as exc:
            raise ModelUnavailable(
                f"A GPU was found but the Whisper model in {resolved.path} cannot run on it "
                f"({exc}). CTranslate2 needs the CUDA 12 libraries: install them with "
                "'pip install nvidia-cublas-cu12 nvidia-cudnn-cu12==9.*', or use --device cpu."
            ) from exc

    @property
    def multilingual(self) -> bool:
        """Whether the model knows languages other than English."""
        return bool(self.model.model.is_multilingual)

    def _speech(self, samples: np.ndarray) -> list[dict[str, int]]:
        """Speech regions (sample indices), fine enough to tell speakers' turns apart."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        return list(get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=500)))

    def _decode(
        self,
        samples: np.ndarray,
        options: TranscribeOptions,
        language: str | None,
        task: str,
    ) -> tuple[list[Any], Any]:
        common: dict[str, Any] = {
            "language": language,
            "task": task,
            "beam_size": options.beam_size,
            "word_timestamps": True,
            "condition_on_previous_text": False,
            "compression_ratio_threshold": 2.4,
            # A translation's tokens are less sure than a transcript's (base gives about
            # -1.1 on clear Spanish): the log-probability test would send every window
            # through sampling at rising temperatures, slower and no longer
            # reproducible. Loops are still caught by the compression ratio.
            "log_prob_threshold": None if task == "translate" else -1.0,
            "no_speech_threshold": 0.6,
            "hotwords": ", ".join(options.vocabulary) or None,
        }
        # Whisper gets faster-whisper's own VAD filter, tuned for decoding (it keeps
        # the short pauses between words); the finer regions of :meth:`_speech` serve
        # the speaker labels and the checks for text invented over silence.
        if options.batch_size > 0:
            clips = None
            if not options.vad:  # fixed 30-second windows
                step = 30 * SAMPLE_RATE
                clips = [
                    {"start": a / SAMPLE_RATE, "end": min(a + step, len(samples)) / SAMPLE_RATE}
                    for a in range(0, len(samples), step)
                ]
            raw, info = self.batched.transcribe(
                samples,
                batch_size=options.batch_size,
                vad_filter=options.vad,
                clip_timestamps=clips,
                **common,
            )
            return list(raw), info
        raw, info = self.model.transcribe(
            samples, vad_filter=options.vad, hallucination_silence_threshold=2.0, **common
        )
        return list(raw), info

    def _chunk(
        self,
        chunk: AudioChunk,
        options: TranscribeOptions,
        found: _Collected,
        embedder: SpeakerEmbedder | None,
        segmenter: SpeechSegmenter | None = None,
    ) -> None:
        speech = self._speech(chunk.samples)
        found.duration = chunk.offset + chunk.duration
        found.speech.extend(
            (chunk.offset + s["start"] / SAMPLE_RATE, chunk.offset + s["end"] / SAMPLE_RATE)
            for s in speech
        )
        if not speech:
            return
        language = options.language or found.language
        raw, info = self._decode(chunk.samples, options, language, "transcribe")
        if found.language is None:
            found.language = info.language
            found.language_probability = float(info.language_probability)
        found.segments.extend(_convert(r, chunk.offset) for r in raw)
        if options.translate and self.multilingual and found.language != "en":
            translated, _ = self._decode(chunk.samples, options, found.language, "translate")
            found.translation.extend(_convert(r, chunk.offset) for r in translated)
        if embedder is not None:
            embedder.add(chunk.samples, chunk.offset, [(s["start"], s["end"]) for s in speech])
        if segmenter is not None:
            segmenter.add(chunk.samples, chunk.offset)

    def transcribe(
        self, path: str | Path, options: TranscribeOptions, progress: Progress | None = None
    ) -> Transcript:
        """Transcribe a recording, with speaker labels unless turned off.

        Args:
            path: The recording (any format FFmpeg reads).
            options: How to transcribe; ``options.model`` is informative here, the
                model is the one this transcriber was loaded with.
            progress: Called with the fraction of audio processed.

        Returns:
            The transcript.

        Raises:
            AudioError: The recording cannot be used (see :func:`probe_audio`), or
                holds no speech.
        """
        path = Path(path)
        check_language(options, self.multilingual, self.name)
        info = probe_audio(path, options.max_duration_s)
        total = info.duration
        diarisation = replace(self.diarisation, voice_model=options.voice_model)
        embedder = SpeakerEmbedder(_torch_device(), diarisation) if options.diarise else None
        segmenter = None
        if options.diarise and diarisation.segmentation:
            from transcribe.segmentation import load_segmenter

            segmenter = load_segmenter(_torch_device(), diarisation.segmentation_step_s)
        found = _Collected()
        for chunk in iter_chunks(path, options.chunk_seconds, options.max_duration_s):
            self._chunk(chunk, options, found, embedder, segmenter)
            if progress is not None:
                done = found.duration / total if total else 0.0
                progress(min(done, 0.99))
            logger.debug("transcribed up to %.1f s", found.duration)
        segments = [s for s in found.segments if s.text]
        if not segments:
            raise AudioError(
                f"{path.name}: no speech was found in the recording. Check that it is "
                "the right file and that the microphone picked up the conversation."
            )
        segments = _tidy(segments, found.speech, options.vad)
        translation = _tidy([s for s in found.translation if s.text], found.speech, options.vad)
        speakers: tuple[str, ...] = ()
        if embedder is not None:
            windows = embedder.windows(options.num_speakers, options.max_speakers)
            segments, speakers = label_speakers(segments, windows, embedder.options)
            if translation:
                translation = speakers_by_overlap(translation, segments)
        original = renumber(segments)
        if progress is not None:
            progress(1.0)
        transcript = Transcript(
            segments=original,
            language=found.language or options.language or "en",
            duration=round(found.duration, 3),
            model=self.name,
            language_probability=found.language_probability,
            speakers=speakers,
            translation=pair_with_original(renumber(translation), original)
            if translation
            else None,
            source=path.name,
        )
        if segmenter is not None and speakers:
            transcript = _with_turns(transcript, segmenter, diarisation.local_purity)
        return transcript


def _with_turns(transcript: Transcript, segmenter: SpeechSegmenter, purity: float) -> Transcript:
    """The transcript with its frame-level speaker turns (see ``transcribe.segmentation``)."""
    from transcribe.metrics import transcript_turns
    from transcribe.segmentation import speaker_timeline

    timeline = speaker_timeline(
        segmenter.activity(), transcript_turns(transcript), transcript.speakers, purity
    )
    return replace(transcript, turns=tuple(timeline))


def _tidy(segments: list[Segment], speech: list[tuple[float, float]], vad: bool) -> list[Segment]:
    """Collapse loops, flag text over silence, fit words to speech, cut at sentences."""
    if not segments:
        return []
    segments = flag_hallucinations(collapse_repetitions(segments), speech)
    if vad:
        segments = fit_words_to_speech(segments, speech)
    return split_at_sentences(segments)


def _torch_device() -> str:
    """Device for the speaker encoder: CTranslate2 may see a GPU that PyTorch cannot."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_transcriber(options: TranscribeOptions | None = None) -> WhisperTranscriber:
    """Load the Whisper model the options name, once per process.

    Args:
        options: Which model, device and compute type; defaults when ``None``.

    Returns:
        A transcriber shared by every caller asking for the same model and device.

    Raises:
        ModelUnavailable: The model cannot be found or loaded.
    """
    options = options or TranscribeOptions()
    resolved = resolve_model(options.model)
    device, compute_type = resolve_device(options.device, options.compute_type)
    key = (str(resolved.path), device, compute_type, options.cpu_threads)
    with _cache_lock:
        if key not in _transcribers:
            try:
                _transcribers[key] = WhisperTranscriber(
                    resolved, device, compute_type, options.cpu_threads
                )
            except ModelUnavailable as exc:
                if not (options.device == "auto" and device == "cuda"):
                    raise
                # "auto" promises a working transcriber: a GPU without the CUDA
                # libraries CTranslate2 needs falls back to the CPU, loudly.
                logger.warning("GPU unusable for Whisper, falling back to the CPU: %s", exc)
                _transcribers[key] = WhisperTranscriber(
                    resolved, "cpu", "int8", options.cpu_threads
                )
        return _transcribers[key]


def transcribe_file(
    path: str | Path,
    options: TranscribeOptions | None = None,
    progress: Progress | None = None,
    *,
    transcriber: Any = None,
) -> Transcript:
    """Transcribe a recording into a timed, speaker-labelled transcript.

    Args:
        path: The recording: WAV, FLAC, MP3, M4A/AAC, OGG/Opus, WebM or a video's sound.
        options: How to transcribe; defaults when ``None``.
        progress: Called with the fraction of audio processed (0 to 1).
        transcriber: Anything implementing the ``Transcriber`` protocol; by default
            the cached faster-whisper transcriber for ``options.model``.

    Returns:
        The transcript.

    Raises:
        AudioError: The recording cannot be used; the message says why.
        ModelUnavailable: The model cannot be found or loaded.
    """
    options = options or TranscribeOptions()
    transcriber = transcriber or load_transcriber(options)
    result: Transcript = transcriber.transcribe(str(path), options, progress)
    return result
