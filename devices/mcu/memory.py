"""Layer-by-layer memory planning on an MCU: per-op and peak SRAM, flash use, and fit.

The plan is of the deployed graph: with `McuSpec.fold_norm_and_clamp` (the default) the network
is first `Network.fused()`, so batch norm, ReLU/ReLU6 and a residual add join the conv before
them, as TF-Lite's converter and TinyEngine deploy it.

Ops run one at a time in topological order. Tensor lifetimes are the network's, from
`workloads.liveness` (the analysis `edgesim run` reads too), at the deployed sizes: a tensor
occupies SRAM from the op that produces it (network inputs: from the start) to the last op that
reads it (network outputs: to the end); a free reshape is a view of its source. An op's
footprint is every tensor alive at it (its inputs, its output, and tensors kept for later
readers such as residual buffers), less what the in-place rules real kernels use save (a fact
of the MCU's kernels, added here on top of the network's lifetimes):

- depthwise conv (`McuSpec.in_place_depthwise`, TinyEngine): when its input dies at the op, the
  output overwrites the input channel by channel through a buffer of one input channel plane:
  max(input, output) + one plane instead of input + output;
- elementwise and folded ops, and a pointwise conv fused with a residual add: when an input of
  the output's size dies at the op, the output is written over it (each output pixel depends only
  on the same pixel of that input);

plus the kernel's scratch buffer (`kernels.scratch_bytes`) and the runtime reserve.

`OpMemory.activation_bytes` (live activations alone) is the quantity MCUNetV2 (arXiv 2110.15352,
Fig. 1) plots: int8 activations under TinyEngine's in-place depthwise and fusion, without scratch
or reserve; its MobileNetV2 peak, 1372 kB = 112 x 112 x (16 + 96) bytes, is reproduced exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from devices.mcu import kernels
from devices.mcu.kernels import KernelKind
from devices.mcu.spec import KB, McuSpec
from workloads import DoesNotFitError, Network, Op, OpKind, UnsupportedOpError
from workloads.liveness import Lifetimes, lifetimes
from workloads.ops import FUSIBLE_KINDS

_ELEMENTWISE_IN_PLACE = frozenset({KernelKind.ELEMENTWISE, KernelKind.FOLDED})


@dataclass(frozen=True, slots=True)
class OpMemory:
    """SRAM at one op of the schedule, bytes."""

    name: str
    kernel: str
    """The kernel kind (KernelKind value)."""
    input_bytes: int
    """The op's own inputs (each stored tensor once)."""
    output_bytes: int
    other_live_bytes: int
    """Tensors kept alive for later readers (residual buffers, network inputs/outputs)."""
    in_place_saving_bytes: int
    """Bytes saved because the output overwrites a dying input."""
    scratch_bytes: int
    reserve_bytes: int
    flash_bytes: int
    """Flash of the op's parameters."""
    largest_tensor: str
    """The largest tensor alive at the op (for overflow messages)."""
    largest_tensor_bytes: int

    @property
    def activation_bytes(self) -> int:
        """Live activation bytes at the op (inputs + output + kept tensors - in-place saving)."""
        return (self.input_bytes + self.output_bytes + self.other_live_bytes
                - self.in_place_saving_bytes)

    @property
    def total_bytes(self) -> int:
        """Everything SRAM must hold while the op runs."""
        return self.activation_bytes + self.scratch_bytes + self.reserve_bytes


@dataclass(frozen=True)
class MemoryPlan:
    """Per-op SRAM of a network run layer by layer on an MCU, its peak, flash use and fit."""

    network: str
    device: str
    rows: tuple[OpMemory, ...]
    sram_bytes: int
    """The device's SRAM budget."""
    flash_capacity_bytes: int
    weight_flash_bytes: int
    """Flash of all parameters as deployed."""
    code_flash_bytes: int

    @cached_property
    def peak_index(self) -> int:
        return int(np.argmax([r.total_bytes for r in self.rows]))

    @property
    def peak_bytes(self) -> int:
        """Peak SRAM over the schedule (activations + scratch + reserve), bytes."""
        return self.rows[self.peak_index].total_bytes

    @property
    def peak_op(self) -> str:
        return self.rows[self.peak_index].name

    @property
    def peak_activation_bytes(self) -> int:
        """Peak of live activation bytes alone (no scratch, no reserve)."""
        return max(r.activation_bytes for r in self.rows)

    @property
    def network_peak_activation_bytes(self) -> int:
        """Peak of the network's own live activations, before the in-place rules save anything:
        `workloads.liveness` at the deployed sizes, what `edgesim run` reports as the peak of
        the int8 network."""
        return max((r.activation_bytes + r.in_place_saving_bytes for r in self.rows), default=0)

    @property
    def flash_bytes(self) -> int:
        """Flash used: parameters + code."""
        return self.weight_flash_bytes + self.code_flash_bytes

    @property
    def fits_sram(self) -> bool:
        return self.peak_bytes <= self.sram_bytes

    @property
    def fits_flash(self) -> bool:
        return self.flash_bytes <= self.flash_capacity_bytes

    @property
    def fits(self) -> bool:
        return self.fits_sram and self.fits_flash

    def curve_bytes(self) -> np.ndarray:
        """Total SRAM per op, in schedule order."""
        return np.array([r.total_bytes for r in self.rows], dtype=np.int64)

    def overflow_message(self) -> str:
        """One line saying what does not fit, where and by how much ('' when it fits)."""
        parts = []
        if not self.fits_sram:
            r = self.rows[self.peak_index]
            parts.append(
                f"SRAM overflows by {(r.total_bytes - self.sram_bytes) / KB:.1f} kB at op "
                f"{r.name!r}: {r.activation_bytes / KB:.1f} kB live activations + "
                f"{r.scratch_bytes / KB:.1f} kB scratch + {r.reserve_bytes / KB:.1f} kB reserve "
                f"= {r.total_bytes / KB:.1f} kB > {self.sram_bytes / KB:.1f} kB; largest tensor "
                f"{r.largest_tensor!r} ({r.largest_tensor_bytes / KB:.1f} kB)"
            )
        if not self.fits_flash:
            parts.append(
                f"flash overflows by {(self.flash_bytes - self.flash_capacity_bytes) / KB:.1f} kB: "
                f"{self.weight_flash_bytes / KB:.1f} kB parameters + "
                f"{self.code_flash_bytes / KB:.1f} kB code > {self.flash_capacity_bytes / KB:.1f} kB"
            )
        return "; ".join(parts)


# --- liveness ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Liveness:
    """The network's tensor lifetimes at the MCU's deployed sizes, with the MCU's in-place
    rules on top (shared by the layer and patch planners).

    The lifetimes are `workloads.liveness.lifetimes` of the deployed graph, sized by
    `kernels.input_bytes` / `kernels.output_bytes` (float tensors at one byte per element);
    the arrays below are its fields as numpy arrays. Tensors are identified by their storage
    root (a view's source). Step i is op i.
    """

    lifetimes: Lifetimes
    """The network's lifetimes at deployed sizes (no in-place saving)."""
    roots: tuple[str, ...]
    """Stored tensors: network inputs first, then op outputs (views excluded)."""
    size_bytes: np.ndarray
    born: np.ndarray
    """Step at which each root is allocated (network inputs: 0)."""
    last: np.ndarray
    """Last step reading it (network outputs: the last step)."""
    index: Mapping[str, int]
    """Root name -> position in `roots`."""
    op_inputs: tuple[tuple[int, ...], ...]
    """Per op: indices of the distinct roots it reads."""
    op_output: tuple[int, ...]
    """Per op: index of its output root (-1 for a view)."""
    in_place_input: tuple[int, ...]
    """Per op: index of the input root its output overwrites (-1: not in place)."""
    extra_plane_bytes: tuple[int, ...]
    """Per op: the one-channel buffer of in-place depthwise (0 otherwise)."""

    def saving_bytes(self) -> tuple[int, ...]:
        """Per op: bytes the in-place rules save (the output written over a dying input:
        the smaller of the two, less in-place depthwise's one-plane buffer; never negative)."""
        sizes = self.lifetimes.size_bytes
        saved = []
        for victim, out, plane in zip(self.in_place_input, self.op_output,
                                      self.extra_plane_bytes):
            if victim < 0:
                saved.append(0)
                continue
            out_bytes = sizes[out] if out >= 0 else 0
            saved.append(max(0, min(sizes[victim], out_bytes) - plane))
        return tuple(saved)


def _check_supported(network: Network) -> None:
    bad = sorted({op.kind.value for op in network.ops if op.kind not in kernels.MCU_KINDS
                  or any(m.kind not in kernels.MCU_KINDS for m in op.members)})
    if bad:
        raise UnsupportedOpError(
            f"network {network.name!r}: MCU runtimes have no kernels for {bad}; "
            "remove those ops or use another device"
        )


def liveness(network: Network, spec: McuSpec) -> Liveness:
    """Tensor sizes (as deployed) and live ranges of `network` run op by op, with the
    in-place rules of `spec`'s kernels."""
    _check_supported(network)
    lt = lifetimes(network, kernels.input_bytes, kernels.output_bytes)
    sizes = list(lt.size_bytes)
    last_arr = np.array(lt.last, dtype=np.int64)
    in_place, planes = [], []
    for i, op in enumerate(network.ops):
        victim, plane = _in_place(op, i, lt.reads[i], lt.output[i], sizes, last_arr, spec)
        in_place.append(victim)
        planes.append(plane)
    return Liveness(
        lifetimes=lt, roots=lt.names, size_bytes=np.array(sizes, dtype=np.int64),
        born=np.array(lt.born, dtype=np.int64), last=last_arr, index=lt.index,
        op_inputs=lt.reads, op_output=lt.output,
        in_place_input=tuple(in_place), extra_plane_bytes=tuple(planes),
    )


def _in_place(op: Op, i: int, reads, out: int, sizes, last, spec: McuSpec) -> tuple[int, int]:
    """(input root overwritten by the output or -1, extra one-plane buffer bytes)."""
    if out < 0:
        return -1, 0
    dying = [r for r in reads if last[r] == i]
    if not dying:
        return -1, 0
    kind = kernels.kernel_kind(op, spec)
    anchor = op.anchor
    if kind is KernelKind.DEPTHWISE and spec.in_place_depthwise and kernels.is_depthwise(anchor) \
            and anchor.output_shape[1] == anchor.input_shapes[0][1]:
        r = reads[0]
        if r in dying:
            _, c, h, w = anchor.input_shapes[0]
            return r, sizes[r] // c
        return -1, 0
    if kind in _ELEMENTWISE_IN_PLACE or (op.kind is OpKind.FUSED and all(
            kernels.kernel_kind(m, spec, member=True) in _ELEMENTWISE_IN_PLACE for m in op.members)):
        same = [r for r in dying if sizes[r] == sizes[out]]
        if same:
            return same[0], 0
    if (op.kind is OpKind.FUSED and kind is KernelKind.POINTWISE and anchor.attrs.stride == (1, 1)
            and any(m.kind is OpKind.ADD for m in op.members)):
        residual = [r for r in dying[::-1] if r != reads[0] and sizes[r] == sizes[out]]
        if residual:
            return residual[0], 0
    return -1, 0


# --- the layer-by-layer plan ------------------------------------------------------------------


def deployed(network: Network, spec: McuSpec) -> Network:
    """The graph the MCU runs: `network.fused()` when the spec folds norms and clamps."""
    if spec.fold_norm_and_clamp and any(
            op.kind in FUSIBLE_KINDS for op in network.ops):
        return network.fused()
    return network


def plan(network: Network, spec: McuSpec) -> MemoryPlan:
    """The per-op SRAM and flash of `network` run layer by layer on `spec` (deployed graph).

    Raises UnsupportedOpError for ops no MCU runtime has kernels for (point-cloud ops).
    Does not raise when the network does not fit: see `MemoryPlan.fits` and `require_fit`.
    """
    network = deployed(network, spec)
    live = liveness(network, spec)
    sizes = live.lifetimes.size_bytes
    live_sets = live.lifetimes.live_sets()
    savings = live.saving_bytes()
    rows = []
    for i, op in enumerate(network.ops):
        reads = live.op_inputs[i]
        out = live.op_output[i]
        in_bytes = sum(sizes[r] for r in reads)
        out_bytes = sizes[out] if out >= 0 else 0
        own = set(reads) | ({out} if out >= 0 else set())
        live_set = live_sets[i]
        others = sum(sizes[t] for t in live_set if t not in own)
        saving = savings[i]
        big = max(live_set, key=lambda t: sizes[t]) if live_set else -1
        rows.append(OpMemory(
            name=op.name,
            kernel=kernels.kernel_kind(op, spec).value,
            input_bytes=in_bytes,
            output_bytes=out_bytes,
            other_live_bytes=others,
            in_place_saving_bytes=saving,
            scratch_bytes=kernels.scratch_bytes(op),
            reserve_bytes=spec.runtime_reserve_bytes,
            flash_bytes=kernels.flash_bytes(op),
            largest_tensor=live.roots[big] if big >= 0 else "",
            largest_tensor_bytes=int(sizes[big]) if big >= 0 else 0,
        ))
    return MemoryPlan(
        network=network.name, device=spec.name, rows=tuple(rows),
        sram_bytes=spec.sram_bytes, flash_capacity_bytes=spec.flash_bytes,
        weight_flash_bytes=sum(r.flash_bytes for r in rows),
        code_flash_bytes=spec.code_flash_bytes,
    )


def require_fit(memory_plan: MemoryPlan) -> MemoryPlan:
    """Return the plan if it fits; DoesNotFitError naming the op, tensor and overflow if not."""
    if not memory_plan.fits:
        raise DoesNotFitError(
            f"{memory_plan.network} does not fit {memory_plan.device}: "
            + memory_plan.overflow_message()
        )
    return memory_plan
