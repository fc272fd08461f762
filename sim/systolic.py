"""The systolic-array template: folds, cycles and per-operand memory traffic of GEMM layers.

An R x C array of MAC units computes a layer's (M x K) @ (K x N) products (`workloads.gemm`) in
one of three dataflows, named by the operand that stays in the PEs while the others stream:

==========  ==================  =====================  =================  ==================
dataflow    spatial rows (Sr)   spatial columns (Sc)   temporal (T)       cycles per fold
==========  ==================  =====================  =================  ==================
os          M (output rows)     N (output columns)     K (reduction)      T + R + C - 2
ws          K (reduction)       N (output columns)     M (output rows)    2R + C + T - 2
is          K (reduction)       M (output rows)        N (output columns) 2R + C + T - 2
==========  ==================  =====================  =================  ==================

A layer takes ceil(Sr / R) x ceil(Sc / C) folds per group. In os a fold streams T operand pairs
through a skewed array (R - 1 + C - 1 cycles of fill and drain); in ws and is it first shifts R
rows of the stationary operand in (R cycles), then streams T rows with the same skew. These are
the cycle counts of SCALE-Sim v3's stall-free (CALC) mode (Samajdar et al., ISPASS 2020; its
scalesim/compute/systolic_compute_{os,ws,is}.py, where each fold's demand matrix has exactly
these rows), and so are the per-operand SRAM counts:

==========  =====================  =====================  ============================
dataflow    ifmap SRAM reads       filter SRAM reads      ofmap SRAM writes
==========  =====================  =====================  ============================
os          ceil(N / C) M K        ceil(M / R) K N        M N
ws          ceil(N / C) M K        K N                    ceil(K / R) M N (partials)
is          M K                    ceil(M / C) K N        ceil(K / R) M N (partials)
==========  =====================  =====================  ============================

(per group; words of `word_bytes`). SCALE-Sim's reports differ from these physical counts in
three places, each reproduced only when its `ScaleSimQuirks` flag is on (`SCALESIM_V3` turns all
on, `EXACT` none).

DRAM traffic is a capacity model, not SCALE-Sim's address-level buffer simulation: an operand
whose reuse working set fits in its SRAM (half of it when double buffered, as SCALE-Sim's
scratchpads are) is fetched from DRAM once; one that does not is re-fetched as often as the
array re-reads it. `results/scalesim_validation/` states how far this is from SCALE-Sim's
DRAM counts. Stalls: the DRAM words over `dram_bytes_per_cycle`; with double buffering only
the part compute cannot hide stalls the array, without it all of it does.

That is SCALE-Sim's memory system: every layer reads its input from DRAM, writes its output to
DRAM and fetches its weights every frame (`MemoryPolicy.DRAM`). Edge accelerators keep what fits
on chip (the Edge TPU caches the model's parameters in its SRAM and keeps activations there;
Gemmini has a scratchpad and an accumulator): `plan_on_chip` decides, for a whole network, which
layers' weights stay resident across frames and which activations stay in SRAM for their
consumers (`MemoryPolicy.ON_CHIP`), and `simulate(..., residency=...)` drops the DRAM traffic of
what is on chip. Without a residency the counts are SCALE-Sim's, bit for bit.

Everything here is pure and vectorised over layers (numpy arrays of int64 in, arrays out).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from sim import memory
from sim.spec import Spec
from workloads import Network, Op
from workloads.gemm import Gemm

MAX_ARRAY_DIM = 4096
"""Rows or columns beyond this are certainly a typo (the TPU v1 is 256 x 256)."""

ArrayDim = Annotated[int, Field(ge=1, le=MAX_ARRAY_DIM)]
SramBytes = Annotated[int, Field(ge=1, le=2**40)]
"""An SRAM capacity, 1 B .. 1 TiB."""


class Dataflow(enum.Enum):
    """Which operand stays in the PEs."""

    OUTPUT_STATIONARY = "os"
    WEIGHT_STATIONARY = "ws"
    INPUT_STATIONARY = "is"


class MemoryPolicy(enum.Enum):
    """Where a network's weights and activations live between layers."""

    DRAM = "dram"
    """Every layer reads its input from and writes its output to DRAM, and fetches its weights
    every frame (SCALE-Sim's memory system; the default)."""
    ON_CHIP = "on_chip"
    """Weights stay resident across frames while they fit the parameter cache; an activation
    stays in SRAM for its consumers while it fits what is left (`plan_on_chip`)."""


class ScaleSimQuirks(Spec):
    """SCALE-Sim v3 report conventions that differ from the physical counts, each on request."""

    os_ofmap_edge_writes: bool = False
    """os: count R + C more ofmap SRAM writes per fold, as SCALE-Sim's systolic_compute_os adds
    the padded fold's row and column counts to its write total."""
    last_cycle_index: bool = False
    """Report cycles as the index of the last cycle (one fewer per layer, or per group), as
    SCALE-Sim's memory system reports the largest serviced cycle number, counted from 0."""
    skewed_fold_utilization: bool = False
    """ws and is: compute utilization divides by 2R + 2C + T - 3 cycles per fold (the rows plus
    columns minus one of SCALE-Sim's filter or ifmap demand matrix), not the 2R + C + T - 2 the
    fold takes."""
    partial_sums_to_dram: bool = False
    """ws and is: every partial-sum write also goes to DRAM, as SCALE-Sim's ofmap write buffer
    drains each fold's partial sums instead of accumulating them on chip when they fit."""


EXACT = ScaleSimQuirks()
"""Physical counts."""
SCALESIM_V3 = ScaleSimQuirks(os_ofmap_edge_writes=True, last_cycle_index=True,
                             skewed_fold_utilization=True, partial_sums_to_dram=True)
"""Every SCALE-Sim v3.0.0 report convention: numbers equal its COMPUTE and DETAILED reports."""


class SystolicArray(Spec):
    """An R x C MAC array, its dataflow and its three operand SRAMs."""

    rows: ArrayDim
    """PE rows (R)."""
    cols: ArrayDim
    """PE columns (C)."""
    dataflow: Dataflow
    """Which operand stays in the PEs: os, ws or is."""
    ifmap_sram_bytes: SramBytes
    """Input-activation SRAM capacity."""
    filter_sram_bytes: SramBytes
    """Weight SRAM capacity."""
    ofmap_sram_bytes: SramBytes
    """Output / partial-sum SRAM capacity."""
    word_bytes: Annotated[int, Field(ge=1, le=8)] = 1
    """Bytes per operand word in SRAM and DRAM (SCALE-Sim: 1)."""
    dram_bytes_per_cycle: Annotated[float, Field(ge=1e-6, le=1e9)] | None = None
    """DRAM bandwidth per array cycle; None for unlimited (stall-free, SCALE-Sim's CALC mode)."""
    double_buffered: bool = True
    """Each SRAM is two halves, one feeding the array while the other fills from DRAM: transfers
    overlap compute but only half the capacity holds reusable data."""
    preload_hidden: bool = False
    """ws and is: each PE holds a second register for the stationary operand, so the next
    fold's shifts in while the current fold streams (as the TPU's matrix unit does): a fold
    takes max(T, R) cycles and the pipeline fills and drains once per layer (R + C - 2)."""
    pack_groups: bool = False
    """ws and is: place several groups of a grouped layer (a depthwise conv's channels) in one
    fold, block-diagonally: a group uses its own Sr rows and Sc columns, so min(R // Sr,
    C // Sc) groups share a fold when one group fits the array. Off: one group per fold, as
    SCALE-Sim (which has no groups) runs a grouped layer group by group. os never packs."""
    quirks: ScaleSimQuirks = EXACT
    """Which SCALE-Sim report conventions to reproduce."""


@dataclass(frozen=True)
class Layers:
    """GEMM layers as int64 arrays, one entry per layer."""

    groups: np.ndarray
    m: np.ndarray
    k: np.ndarray
    n: np.ndarray
    ifmap_words: np.ndarray
    """Distinct input words (the input tensor, not its im2col expansion)."""

    @classmethod
    def of(cls, gemms: Iterable[Gemm]) -> Layers:
        rows = np.array([(g.groups, g.m, g.k, g.n, g.ifmap_words) for g in gemms],
                        dtype=np.int64).reshape(-1, 5)
        return cls(*rows.T.copy())

    def __len__(self) -> int:
        return len(self.m)

    @property
    def macs(self) -> np.ndarray:
        return self.groups * self.m * self.k * self.n


@dataclass(frozen=True)
class Residency:
    """Per layer (bool arrays over the layers of a `Layers`): which operands are on chip.

    An on-chip ifmap is read from SRAM, never from DRAM (however often the array re-reads it);
    a resident filter was loaded before the frame (no DRAM reads in it); an on-chip ofmap,
    partial sums included, stays in SRAM for its consumers (no DRAM writes). A planned layer is
    also tiled over its output rows (M) so each tile's working set fits the SRAMs, as a
    compiler for such an accelerator schedules it: an operand left in DRAM crosses the link
    once (distinct input words, weights, outputs), not once per fold as in SCALE-Sim's untiled
    schedule. Halo rows re-read between tiles are not counted."""

    ifmap_on_chip: np.ndarray
    filter_resident: np.ndarray
    ofmap_on_chip: np.ndarray

    @classmethod
    def of(cls, flags: Iterable[tuple[bool, bool, bool]]) -> Residency:
        """From (ifmap on chip, filter resident, ofmap on chip) per layer."""
        rows = np.array(list(flags), dtype=bool).reshape(-1, 3)
        return cls(*rows.T.copy())


@dataclass(frozen=True)
class LayerStats:
    """Per-layer results of `simulate`; every field an array over the layers."""

    row_folds: np.ndarray
    """ceil(Sr / R) per group."""
    col_folds: np.ndarray
    """ceil(Sc / C) per group."""
    n_folds: np.ndarray
    """All folds of the layer: groups x row_folds x col_folds."""
    fold_cycles: np.ndarray
    compute_cycles: np.ndarray
    """Stall-free cycles (SCALE-Sim's 'Total Cycles' in CALC mode with `last_cycle_index`)."""
    stall_cycles: np.ndarray
    total_cycles: np.ndarray
    sram_ifmap_reads: np.ndarray
    sram_filter_reads: np.ndarray
    sram_ofmap_writes: np.ndarray
    sram_ofmap_reads: np.ndarray
    """Partial sums read back to accumulate (ws, is: every K fold after the first) plus the
    words drained to DRAM; SCALE-Sim does not count these."""
    sram_ifmap_writes: np.ndarray
    """Fills of the ifmap SRAM from DRAM (= DRAM ifmap reads); SCALE-Sim does not count these."""
    sram_filter_writes: np.ndarray
    """Fills of the filter SRAM from DRAM (= DRAM filter reads)."""
    dram_ifmap_reads: np.ndarray
    dram_filter_reads: np.ndarray
    dram_ofmap_writes: np.ndarray
    mapping_efficiency_ratio: np.ndarray
    """Mean over folds of the mapped share of the PEs."""
    compute_utilization_ratio: np.ndarray
    """Mean over folds of MACs / (R C fold cycles)."""
    utilization_ratio: np.ndarray
    """Layer MACs / (R C total cycles)."""

    @property
    def dram_words(self) -> np.ndarray:
        return self.dram_ifmap_reads + self.dram_filter_reads + self.dram_ofmap_writes

    @property
    def sram_words(self) -> np.ndarray:
        return (self.sram_ifmap_reads + self.sram_filter_reads + self.sram_ofmap_writes
                + self.sram_ofmap_reads + self.sram_ifmap_writes + self.sram_filter_writes)


def _ceil_div(a: np.ndarray, b: int) -> np.ndarray:
    return -(-a // b)


def simulate(array: SystolicArray, layers: Layers,
             residency: Residency | None = None) -> LayerStats:
    """Folds, cycles and traffic of each layer on `array`. Pure; vectorised over layers.

    `residency` (one entry per layer; None: everything through DRAM, as SCALE-Sim) removes the
    DRAM traffic of on-chip operands, and with it their share of the stalls."""
    r, c, q = array.rows, array.cols, array.quirks
    g, m, k, n = layers.groups, layers.m, layers.k, layers.n
    df = array.dataflow
    if df is Dataflow.OUTPUT_STATIONARY:
        sr, sc, t = m, n, k
    elif df is Dataflow.WEIGHT_STATIONARY:
        sr, sc, t = k, n, m
    else:
        sr, sc, t = k, m, n
    row_folds, col_folds = _ceil_div(sr, r), _ceil_div(sc, c)
    folds_per_group = row_folds * col_folds
    packed = array.pack_groups and df is not Dataflow.OUTPUT_STATIONARY
    if packed:
        # Groups per fold: block-diagonal, each group on its own rows and columns.
        per_fold = np.where((sr <= r) & (sc <= c),
                            np.minimum(r // np.maximum(sr, 1), c // np.maximum(sc, 1)), 1)
        runs = -(-g // per_fold)
        n_folds = runs * folds_per_group
    else:
        runs = g
        n_folds = g * folds_per_group
    fill_drain = 0
    if df is Dataflow.OUTPUT_STATIONARY:
        fold_cycles = t + r + c - 2
        util_cycles = fold_cycles
    elif array.preload_hidden:
        fold_cycles = np.maximum(t, r)
        util_cycles = fold_cycles
        fill_drain = r + c - 2
    else:
        fold_cycles = 2 * r + c + t - 2
        util_cycles = fold_cycles + (c - 1 if q.skewed_fold_utilization else 0)
    compute_cycles = n_folds * fold_cycles + fill_drain - (runs if q.last_cycle_index else 0)

    mk, kn, mn = g * m * k, g * k * n, g * m * n
    if df is Dataflow.OUTPUT_STATIONARY:
        sram_i, sram_f, sram_o = col_folds * mk, row_folds * kn, mn.copy()
        if q.os_ofmap_edge_writes:
            sram_o = sram_o + n_folds * (r + c)
        psum_reads = np.zeros_like(mn)
    elif df is Dataflow.WEIGHT_STATIONARY:
        sram_i, sram_f, sram_o = col_folds * mk, kn.copy(), row_folds * mn
        psum_reads = (row_folds - 1) * mn
    else:
        sram_i, sram_f, sram_o = mk.copy(), col_folds * kn, row_folds * mn
        psum_reads = (row_folds - 1) * mn

    # DRAM: an operand whose reuse working set fits its SRAM (half of it, double buffered) is
    # fetched once. An ifmap that does not fit: os re-streams it once per column fold (a fold's
    # R im2col rows overlap, so each pass reads each input about once); ws reads a different
    # slice of the im2col columns in every K fold, so each of its reads is a DRAM read; is
    # reads it once.
    share = 2 if array.double_buffered else 1
    words = array.word_bytes
    cap_i = array.ifmap_sram_bytes // share // words
    cap_f = array.filter_sram_bytes // share // words
    cap_o = array.ofmap_sram_bytes // share // words
    unique_i = layers.ifmap_words
    streamed = {Dataflow.OUTPUT_STATIONARY: np.minimum(sram_i, col_folds * unique_i),
                Dataflow.WEIGHT_STATIONARY: sram_i,
                Dataflow.INPUT_STATIONARY: np.minimum(sram_i, unique_i)}[df]
    dram_i = np.where(_ceil_div(unique_i, g) <= cap_i, unique_i, streamed)
    if df is Dataflow.OUTPUT_STATIONARY:
        # A column fold's K x C weights serve every row fold of that column if they fit.
        dram_f = np.where(k * np.minimum(n, c) < cap_f, kn, sram_f)
        dram_o = mn.copy()
    else:
        # ws loads each weight once; is re-reads all weights per column fold unless they fit.
        dram_f = kn.copy() if df is Dataflow.WEIGHT_STATIONARY else np.where(
            k * n < cap_f, kn, sram_f)
        # A column fold's partial sums (ws: M x C, is: C x N) stay on chip if they fit.
        held = m * np.minimum(n, c) if df is Dataflow.WEIGHT_STATIONARY else np.minimum(m, c) * n
        dram_o = sram_o.copy() if q.partial_sums_to_dram else np.where(held <= cap_o, mn, sram_o)
    if residency is not None:
        # Planned layers are tiled over their output rows so that a tile's inputs, weights
        # and partial sums fit the SRAMs: an operand kept in DRAM crosses the link once.
        dram_i = np.where(residency.ifmap_on_chip, 0, np.minimum(dram_i, unique_i))
        dram_f = np.where(residency.filter_resident, 0, np.minimum(dram_f, kn))
        dram_o = np.where(residency.ofmap_on_chip, 0, np.minimum(dram_o, mn))

    if array.dram_bytes_per_cycle is None:
        stall = np.zeros_like(compute_cycles)
    else:
        dram_cycles = np.ceil((dram_i + dram_f + dram_o) * words
                              / array.dram_bytes_per_cycle).astype(np.int64)
        stall = (np.maximum(dram_cycles - compute_cycles, 0) if array.double_buffered
                 else dram_cycles)
    total = compute_cycles + stall

    pe = r * c
    mapped = (g * sr * sc) / (n_folds * pe) if packed else (sr * sc) / (folds_per_group * pe)
    return LayerStats(
        row_folds=row_folds, col_folds=col_folds, n_folds=n_folds,
        fold_cycles=np.broadcast_to(fold_cycles, m.shape).astype(np.int64),
        compute_cycles=compute_cycles, stall_cycles=stall, total_cycles=total,
        sram_ifmap_reads=sram_i, sram_filter_reads=sram_f, sram_ofmap_writes=sram_o,
        sram_ofmap_reads=psum_reads + dram_o, sram_ifmap_writes=dram_i,
        sram_filter_writes=dram_f,
        dram_ifmap_reads=dram_i, dram_filter_reads=dram_f, dram_ofmap_writes=dram_o,
        mapping_efficiency_ratio=mapped,
        compute_utilization_ratio=mapped * t / util_cycles,
        utilization_ratio=layers.macs / (np.maximum(total, 1) * pe),
    )


def sequence_cycles(array: SystolicArray, layers: Layers) -> int:
    """Stall-free cycles of `layers` run back to back. With `preload_hidden` the array never
    drains between them (one fill and drain for the whole sequence); otherwise the sum."""
    cycles = int(simulate(array, layers).compute_cycles.sum())
    if array.preload_hidden and array.dataflow is not Dataflow.OUTPUT_STATIONARY and len(layers):
        cycles -= (len(layers) - 1) * (array.rows + array.cols - 2)
    return cycles


def energy_pj(array: SystolicArray, layers: Layers, stats: LayerStats, *, bits: int = 8,
              is_float: bool = False, node_nm: float = 45.0,
              voltage_v: float = 0.9) -> dict[str, np.ndarray]:
    """Dynamic energy per layer by component, pJ: 'mac' (every mapped MAC at `bits`), one
    'sram_<operand>' per SRAM (the array's reads and writes and the DRAM fills and drains, each
    at that SRAM's capacity, `sim.memory`) and 'dram'."""
    word_bits = 8 * array.word_bytes
    tech = {"node_nm": node_nm, "voltage_v": voltage_v}
    per = {name: memory.sram_access_pj(getattr(array, f"{name}_sram_bytes"), word_bits, **tech)
           for name in ("ifmap", "filter", "ofmap")}
    return {
        "mac": layers.macs * memory.mac_pj(bits, is_float=is_float, **tech),
        "sram_ifmap": (stats.sram_ifmap_reads + stats.sram_ifmap_writes) * per["ifmap"],
        "sram_filter": (stats.sram_filter_reads + stats.sram_filter_writes) * per["filter"],
        "sram_ofmap": (stats.sram_ofmap_writes + stats.sram_ofmap_reads) * per["ofmap"],
        "dram": stats.dram_words * array.word_bytes * memory.dram_pj_per_byte(),
    }


def area_mm2(array: SystolicArray, *, bits: int = 8, is_float: bool = False,
             node_nm: float = 45.0) -> dict[str, float]:
    """Area by component, mm^2: the PE 'array' and each operand SRAM (`sim.memory`)."""
    return {
        "array": array.rows * array.cols * memory.mac_area_um2(
            bits, is_float=is_float, node_nm=node_nm) * 1e-6,
        **{f"sram_{name}": memory.sram_area_mm2(getattr(array, f"{name}_sram_bytes"),
                                                node_nm=node_nm)
           for name in ("ifmap", "filter", "ofmap")},
    }


def leakage_w(array: SystolicArray, *, node_nm: float = 45.0) -> float:
    """Static power of the three SRAMs, W (the PE array's leakage is not modelled)."""
    return sum(memory.sram_leakage_w(getattr(array, f"{name}_sram_bytes"), node_nm=node_nm)
               for name in ("ifmap", "filter", "ofmap"))


@dataclass(frozen=True)
class OnChipPlan:
    """Where one network's weights and activations live under `MemoryPolicy.ON_CHIP`."""

    network: str
    """Name of the network planned."""
    resident_weights: frozenset[str]
    """Ops whose weights stay in the parameter cache across frames (loaded with the model)."""
    on_chip: frozenset[str]
    """Tensors (op outputs, and views of them) that stay in SRAM for their consumers."""
    weight_cache_bytes: int
    """Capacity the weights were cached in."""
    resident_weight_bytes: int
    """Bytes of the resident weights."""
    streamed_weight_bytes: int
    """Bytes of the weights fetched from DRAM every frame."""
    activation_budget_bytes: int
    """SRAM left for activations: all of it minus the resident weights."""
    peak_on_chip_activation_bytes: int
    """Most activation bytes held in SRAM at once."""

    def residency(self, op: Op) -> tuple[bool, bool, bool]:
        """(ifmap on chip, filter resident, ofmap on chip) of `op` (a GEMM layer): its input is
        on chip when every tensor it reads is; a weightless matmul's second operand is an
        activation, resident when on chip."""
        inputs_on_chip = all(name in self.on_chip for name in op.inputs)
        filter_resident = (op.name in self.resident_weights
                           or (op.anchor.params == 0 and inputs_on_chip))
        return inputs_on_chip, filter_resident, op.name in self.on_chip


def plan_on_chip(network: Network, *, sram_bytes: int, weight_cache_bytes: int,
                 weight_bytes: Callable[[Op], int],
                 tensor_bytes: Callable[[Op], int]) -> OnChipPlan:
    """Which weights stay resident and which activations stay on chip, for the whole network.

    Weights: cached in layer order while the running total fits `weight_cache_bytes`; the first
    layer that does not fit and every later one are streamed from DRAM each frame (the Edge TPU
    compiler caches "the first" parameters that fit and streams the rest; `weight_bytes(op)` is
    what a layer stores). Activations: the budget is `sram_bytes` minus the resident weights.
    Walking the ops in order, an op's output stays on chip when it, with every on-chip tensor
    still live (residual branches included, `workloads.liveness`), fits the budget; otherwise it
    spills to DRAM and its consumers read it from there. Network inputs come from and network
    outputs go to the host, through DRAM. `tensor_bytes(op)` is the size of an op's output as
    stored. Pure.
    """
    resident: set[str] = set()
    cached = streamed = 0
    full = False
    for op in network.ops:
        w = weight_bytes(op)
        if w == 0:
            continue
        if not full and cached + w <= weight_cache_bytes:
            resident.add(op.name)
            cached += w
        else:
            full = True
            streamed += w
    budget = max(sram_bytes - cached, 0)
    life = network.lifetimes
    root = network.storage_roots
    on_chip_bytes: dict[int, int] = {}  # root number -> bytes, of the tensors held on chip
    live = peak = 0
    for i, op in enumerate(network.ops):
        t = life.output[i]
        if t >= 0 and t not in life.kept:
            need = tensor_bytes(op)
            if live + need <= budget:
                on_chip_bytes[t] = need
                live += need
                peak = max(peak, live)
        for dead in life.frees[i]:
            live -= on_chip_bytes.get(dead, 0)
    names = {life.names[t] for t in on_chip_bytes}
    on_chip = frozenset(name for name, base in root.items() if base in names)
    return OnChipPlan(
        network=network.name, resident_weights=frozenset(resident), on_chip=on_chip,
        weight_cache_bytes=weight_cache_bytes, resident_weight_bytes=cached,
        streamed_weight_bytes=streamed, activation_budget_bytes=budget,
        peak_on_chip_activation_bytes=peak)
