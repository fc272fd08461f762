"""Compression read from real weights: the sparsity scheme and ratio of a weight tensor.

`detect_sparsity(weight, kernel_3x3=...)` looks at where the exact zeros of a weight are, in
edgesim's layout (conv (out, in/groups, kh, kw); linear and embedding (out, in)), and names the
most structured scheme that explains all of them, checked in this order:

1. channel: the zeros are whole output filters (rows);
2. N:M: every group of m consecutive weights along the input channels holds exactly n nonzeros
   (n < m, m in 2, 4, 8, 16; the smallest m that fits): NVIDIA's 2:4 (Mishra et al. 2104.08378);
3. pattern (3x3 convs): every kept kernel has the same number k < 9 of nonzeros, in at most
   `MAX_PATTERNS` distinct positions sets; whole zero kernels are connectivity pruning
   (PatDNN, Niu et al. 2001.00138, uses 6 to 8 four-entry patterns);
4. block: the zeros are whole tiles of the (out, in x kh x kw) GEMM view; the largest tile
   (rows x cols, powers of two up to 64) that covers every zero is reported;
5. unstructured: anything else.

The ratio is always the exact fraction of zero weights. Fewer zeros than `MIN_UNSTRUCTURED_RATIO`
that are not whole filters, N:M groups or kernel patterns are read as a dense layer: trained float weights are almost never exactly
zero, and int8 weights have a few zeros by rounding; neither is pruning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workloads.compression import SparsityScheme

MAX_PATTERNS = 16
"""Most distinct kernel patterns a layer may use to count as pattern-pruned (PatDNN uses 8)."""
MIN_UNSTRUCTURED_RATIO = 0.05
"""Smallest fraction of scattered zeros reported as unstructured sparsity."""
_NM_GROUPS = (2, 4, 8, 16)
_BLOCK_SIDES = (1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class Sparsity:
    """What `detect_sparsity` found."""

    scheme: SparsityScheme
    ratio: float
    """Fraction of weights that are exactly zero, in (0, 1)."""
    block_shape: tuple[int, int] = (1, 1)
    """BLOCK: (rows, cols) of the zero tiles of the GEMM view."""
    n_m: tuple[int, int] | None = None
    """N_M: (n, m)."""


def detect_sparsity(weight: np.ndarray, *, kernel_3x3: bool = False) -> Sparsity | None:
    """The sparsity of `weight` (edgesim layout, output dim first), or None when dense.

    `kernel_3x3` allows the pattern scheme (a non-grouped 3x3 conv). A tensor that is all zeros
    is reported as None: it has no structure to name, and a ratio of 1 is not a valid setting.
    """
    w = np.asarray(weight)
    if w.ndim < 2 or w.size == 0:
        return None
    zeros = w == 0
    n_zero = int(zeros.sum())
    if n_zero == 0 or n_zero == w.size:
        return None
    ratio = n_zero / w.size
    rows = zeros.reshape(w.shape[0], -1)
    zero_rows = rows.all(axis=1)
    if int(zero_rows.sum()) * rows.shape[1] == n_zero:
        return Sparsity(SparsityScheme.CHANNEL, float(zero_rows.mean()))
    nm = _n_m(zeros)
    if nm is not None:
        return Sparsity(SparsityScheme.N_M, 1 - nm[0] / nm[1], n_m=nm)
    if kernel_3x3 and w.ndim == 4 and w.shape[2:] == (3, 3) and _is_pattern(zeros):
        return Sparsity(SparsityScheme.PATTERN, ratio)
    block = _block(rows, n_zero) if ratio >= MIN_UNSTRUCTURED_RATIO else None
    if block is not None:
        return Sparsity(SparsityScheme.BLOCK, ratio, block_shape=block)
    if ratio >= MIN_UNSTRUCTURED_RATIO:
        return Sparsity(SparsityScheme.UNSTRUCTURED, ratio)
    return None


def _n_m(zeros: np.ndarray) -> tuple[int, int] | None:
    # Groups run along the input channels (dim 1): conv weights go to (out, kh, kw, in).
    along_in = np.moveaxis(zeros, 1, -1) if zeros.ndim == 4 else zeros
    n_in = along_in.shape[-1]
    kept_mask = ~along_in.reshape(-1, n_in)
    total = int(np.count_nonzero(kept_mask))
    for m in _NM_GROUPS:
        if n_in % m:
            continue
        groups = kept_mask.reshape(-1, m)
        n = int(np.count_nonzero(groups[0]))
        if not 0 < n < m or total != n * len(groups):
            continue  # the total must be n per group before every group is counted
        if bool((np.count_nonzero(groups, axis=1) == n).all()):
            return (n, m)
    return None


def _is_pattern(zeros: np.ndarray) -> bool:
    kernels = ~zeros.reshape(-1, 9)  # True where kept
    counts = kernels.sum(axis=1)
    kept = kernels[counts > 0]
    if not len(kept):
        return False
    k = int(kept[0].sum())
    if k >= 9 or not bool((kept.sum(axis=1) == k).all()):
        return False
    return len(np.unique(np.packbits(kept, axis=1), axis=0)) <= MAX_PATTERNS


def _block(rows: np.ndarray, n_zero: int) -> tuple[int, int] | None:
    out, k = rows.shape
    best = None
    for br in _BLOCK_SIDES:
        if out % br:
            continue
        for bc in _BLOCK_SIDES:
            area = br * bc
            if k % bc or area < 2 or (best is not None and area <= best[0] * best[1]):
                continue
            tiles = rows.reshape(out // br, br, k // bc, bc).all(axis=(1, 3))
            if int(tiles.sum()) * area == n_zero:
                best = (br, bc)
    return best
