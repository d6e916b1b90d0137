"""Spectral clustering of voice embeddings, and counting the speakers.

The windows' voice embeddings are compared on cosine affinity; the affinity matrix is
refined as in spectral diarisation and split into speakers by k-means on its leading
eigenvectors. When the number of speakers is not known it is read from the eigengaps,
of the refined matrix or, for CAM++, of a sparse nearest-neighbour graph. Long
recordings are clustered on a sample of their windows; the rest join the nearest centre.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.ndimage import gaussian_filter
from scipy.spatial.distance import cdist

if TYPE_CHECKING:
    from transcribe.diarise import DiarisationOptions

__all__ = ["cluster_windows"]

#: Clustering is done on at most this many windows; the rest join the nearest centre.
_MAX_CLUSTERED = 1500


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
    if options is None:
        from transcribe.diarise import DiarisationOptions  # diarise imports this module

        options = DiarisationOptions()
    opts = options
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
