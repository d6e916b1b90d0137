"""Local transcription with speaker labels.

``transcribe_file(path, options)`` turns a recording into a timed,
speaker-labelled :class:`Transcript`, on this machine only.
"""

from __future__ import annotations

from transcribe.audio import AudioInfo, iter_chunks, probe_audio
from transcribe.catalogue import ModelEntry, list_models
from transcribe.diarise import SpeakerTurn
from transcribe.errors import AudioError
from transcribe.metrics import (
    DER_COLLAR_S,
    diarisation_error_rate,
    read_rttm,
    sentences_split_across_speakers,
    transcript_turns,
    word_error_rate,
)
from transcribe.models import prepare_base_model
from transcribe.speakers import CHECK_SPEAKER
from transcribe.translation import VISIT_LANGUAGES, language_name, pair_with_original
from transcribe.types import Progress, Segment, TranscribeOptions, Transcriber, Transcript, Word
from transcribe.whisper import WhisperTranscriber, load_transcriber, transcribe_file
from transcribe.writers import FORMATS, write_transcript

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
    "transcribe_file",
    "transcript_turns",
    "word_error_rate",
    "write_transcript",
]
