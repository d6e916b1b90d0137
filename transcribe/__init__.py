"""Local transcription with speaker labels.

``transcribe_file(path, options)`` turns a recording into a timed,
speaker-labelled :class:`Transcript`, on this machine only.

The face loads lazily (PEP 562): ``from transcribe import Transcript`` loads only the
module that defines it, so a web process that reads a stored transcript does without
PyAV, NumPy and SciPy; ``from transcribe import transcribe_file`` loads what
transcribing needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transcribe.lazy import lazy_face

if TYPE_CHECKING:
    from transcribe.audio import AudioInfo, iter_chunks, probe_audio
    from transcribe.catalogue import ModelEntry, list_models
    from transcribe.errors import AudioError
    from transcribe.metrics import (
        DER_COLLAR_S,
        diarisation_error_rate,
        read_rttm,
        sentences_split_across_speakers,
        speaker_turns,
        transcript_turns,
        word_error_rate,
    )
    from transcribe.models import prepare_base_model
    from transcribe.speakers import CHECK_SPEAKER
    from transcribe.translation import VISIT_LANGUAGES, language_name, pair_with_original
    from transcribe.types import (
        Progress,
        Segment,
        SpeakerTurn,
        TranscribeOptions,
        Transcriber,
        Transcript,
        Word,
    )
    from transcribe.whisper import WhisperTranscriber, load_transcriber, transcribe_file
    from transcribe.writers import FORMATS, write_transcript

#: Where each public name is defined.
_HOMES = {
    "AudioInfo": "transcribe.audio",
    "iter_chunks": "transcribe.audio",
    "probe_audio": "transcribe.audio",
    "ModelEntry": "transcribe.catalogue",
    "list_models": "transcribe.catalogue",
    "AudioError": "transcribe.errors",
    "DER_COLLAR_S": "transcribe.metrics",
    "diarisation_error_rate": "transcribe.metrics",
    "read_rttm": "transcribe.metrics",
    "sentences_split_across_speakers": "transcribe.metrics",
    "speaker_turns": "transcribe.metrics",
    "transcript_turns": "transcribe.metrics",
    "word_error_rate": "transcribe.metrics",
    "prepare_base_model": "transcribe.models",
    "CHECK_SPEAKER": "transcribe.speakers",
    "VISIT_LANGUAGES": "transcribe.translation",
    "language_name": "transcribe.translation",
    "pair_with_original": "transcribe.translation",
    "Progress": "transcribe.types",
    "Segment": "transcribe.types",
    "SpeakerTurn": "transcribe.types",
    "TranscribeOptions": "transcribe.types",
    "Transcriber": "transcribe.types",
    "Transcript": "transcribe.types",
    "Word": "transcribe.types",
    "WhisperTranscriber": "transcribe.whisper",
    "load_transcriber": "transcribe.whisper",
    "transcribe_file": "transcribe.whisper",
    "FORMATS": "transcribe.writers",
    "write_transcript": "transcribe.writers",
}


__getattr__, __dir__ = lazy_face(__name__, _HOMES, globals())


__all__ = [
    "CHECK_SPEAKER",
    "DER_COLLAR_S",
    "FORMATS",
    "VISIT_LANGUAGES",
    "AudioError",
    "AudioInfo",
    "ModelEntry",
    "Progress",
    "Segment",
    "SpeakerTurn",
    "TranscribeOptions",
    "Transcriber",
    "Transcript",
    "WhisperTranscriber",
    "Word",
    "diarisation_error_rate",
    "iter_chunks",
    "language_name",
    "list_models",
    "load_transcriber",
    "pair_with_original",
    "prepare_base_model",
    "probe_audio",
    "read_rttm",
    "sentences_split_across_speakers",
    "speaker_turns",
    "transcribe_file",
    "transcript_turns",
    "word_error_rate",
    "write_transcript",
]
