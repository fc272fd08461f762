"""`McuDevice`: a microcontroller as a `sim.Device` (one target, one engine: the CPU).

Each op runs on the core for (kernel cycles + flash stall cycles + call overhead) / clock
(`kernels.op_cycles`; the MAC kernels' cycles depend on the spec's kernel `library`); flash reads are folded into the cycle count through wait states and the
data cache (weights that fit the cache stream from flash once, others once per pass). Energy is
the chip's active power times the op's time, booked as 'board' (a datasheet run-mode current
covers core, flash and SRAM together, so it is not split). Float networks deploy as int8
(`kernels.act_bits`): their ops report 'w8a8' as the executed precision. `cost` raises DoesNotFitError when the op's
weights cannot fit the flash or its own working set (inputs + output + scratch + reserve)
cannot fit the SRAM; whether the whole schedule fits is `memory.plan`'s question.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from devices.mcu import kernels
from devices.mcu.kernels import KernelKind
from devices.mcu.memory import plan
from devices.mcu.spec import KB, PRESETS, McuSpec
from sim.device import BoundBy, Cost, EngineSpec, MemoryLevel, Phase, PhaseLabel, SpecNamed
from sim.energy import EnergyComponent, EnergyMethod, EnergyModel
from sim.spec import Family
from workloads import DoesNotFitError, Network, Op, OpKind, SpecError, UnsupportedOpError

TARGET = "cpu"


@dataclass(frozen=True)
class McuDevice(SpecNamed):
    """A `sim.Device` built from an `McuSpec`. Immutable; `cost` is pure."""

    spec: McuSpec

    targets = (TARGET,)

    @cached_property
    def engines(self) -> tuple[EngineSpec, ...]:
        return (EngineSpec(name=TARGET),)

    @cached_property
    def energy_model(self) -> EnergyModel:
        """Power x time: the datasheet's run-mode power over each op's cycles."""
        return EnergyModel(
            method=EnergyMethod.POWER_X_TIME,
            detail=(f"chip run-mode power {self.spec.active_power_w:g} W x op time, as one 'board' "
                    "component (core, flash and SRAM together)"),
            leaves_out="sleep between frames and power of anything off the chip",
        )

    def unit_text(self, target: str) -> str:
        """The core, its clock and the kernel library that runs on it."""
        return f"{target}: {self.spec.freq_hz / 1e6:g} MHz, {self.spec.library.value} kernels"

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        self._check_target(target)
        return kernels.MCU_KINDS

    def _check_target(self, target: str) -> None:
        if target != TARGET:
            raise SpecError(f"device {self.name!r} has no target {target!r}; choose 'cpu'")

    def working_set_bytes(self, op: Op) -> tuple[int, str, int]:
        """(SRAM the op alone needs, its largest tensor's role, that tensor's bytes).

        Inputs + output (a depthwise conv whose input may be overwritten: max + one plane)
        + scratch + runtime reserve.
        """
        ins = [kernels.input_bytes(op, j) for j in range(len(op.inputs))]
        out = kernels.output_bytes(op)
        act = sum(ins) + out
        a = op.anchor
        kind = kernels.kernel_kind(op, self.spec)
        if kind is KernelKind.FOLDED:  # fused into the previous kernel at deployment: in place
            act = max(sum(ins), out)
        if (self.spec.in_place_depthwise and kind is KernelKind.DEPTHWISE
                and kernels.is_depthwise(a) and a.output_shape[1] == a.input_shapes[0][1]):
            plane = ins[0] // a.input_shapes[0][1]
            act = max(ins[0], out) + plane + sum(ins[1:])
        role, biggest = ("output", out)
        for j, b in enumerate(ins):
            if b > biggest:
                role, biggest = (f"input {op.inputs[j]!r}", b)
        total = act + kernels.scratch_bytes(op) + self.spec.runtime_reserve_bytes
        return total, role, biggest

    def executed_input_bytes(self, op: Op, index: int) -> int:
        """Bytes of input `index` of `op` as deployed (an fp32 network runs as int8:
        `kernels.act_bits`), so `simulate`'s activation peak counts what SRAM holds."""
        return kernels.input_bytes(op, index)

    def executed_output_bytes(self, op: Op) -> int:
        """Bytes of `op`'s output as deployed (0 for a view); see `executed_input_bytes`."""
        return kernels.output_bytes(op)

    def executed_weight_bytes(self, op: Op) -> int:
        """Flash of `op`'s parameters as deployed (`kernels.flash_bytes`: int8 weights of a
        float network plus 12 B of bias and requantisation per output channel, batch norms
        folded), so the report's weight total is the flash `memory.plan` counts."""
        return kernels.flash_bytes(op)

    def check(self, network: Network, target: str = TARGET) -> None:
        """Refuse, before simulating, a network whose layer-by-layer schedule does not fit SRAM
        or flash (DoesNotFitError naming the op, the tensor and the overflow);
        `edgesim mcu plan` shows whether a patch-based schedule would fit instead."""
        self._check_target(target)
        memory_plan = plan(network, self.spec)
        if not memory_plan.fits:
            raise DoesNotFitError(
                f"{network.name} does not fit {self.spec.name}: {memory_plan.overflow_message()}; "
                f"`edgesim mcu plan MODEL --device {self.spec.name}` shows a patch-based plan"
            )

    def cost(self, op: Op, target: str = TARGET) -> Cost:
        self._check_target(target)
        spec = self.spec
        if op.kind not in kernels.MCU_KINDS or any(m.kind not in kernels.MCU_KINDS
                                                   for m in op.members):
            raise UnsupportedOpError(f"device {self.name!r} has no kernel for op {op.name!r} "
                                     f"({op.kind.value})")
        weights = kernels.flash_bytes(op)
        if weights > spec.weight_budget_bytes:
            raise DoesNotFitError(
                f"op {op.name!r} on {self.name}: its parameters need {weights / KB:.1f} kB of "
                f"flash, {(weights - spec.weight_budget_bytes) / KB:.1f} kB over the "
                f"{spec.weight_budget_bytes / KB:.1f} kB left after code"
            )
        need, role, biggest = self.working_set_bytes(op)
        if need > spec.sram_bytes:
            raise DoesNotFitError(
                f"op {op.name!r} on {self.name}: its working set needs {need / KB:.1f} kB of "
                f"SRAM, {(need - spec.sram_bytes) / KB:.1f} kB over {spec.sram_bytes / KB:.1f} kB "
                f"(largest tensor: {role}, {biggest / KB:.1f} kB); try patch-based inference "
                f"(`edgesim mcu plan`)"
            )
        if op.is_free:
            return Cost(stages=(), bound_by=BoundBy.FREE)
        cycles = kernels.op_cycles(op, spec)
        latency_s = cycles.total_cycles / spec.freq_hz
        sram = sum(kernels.input_bytes(op, j) for j in range(len(op.inputs))) \
            + kernels.output_bytes(op)
        parts = {BoundBy.COMPUTE: cycles.compute_cycles, BoundBy.FLASH: cycles.flash_cycles,
                 BoundBy.OVERHEAD: cycles.overhead_cycles}
        bound = max(parts, key=parts.get) if cycles.total_cycles else BoundBy.FOLDED
        return Cost.serial(
            Phase(TARGET, latency_s, PhaseLabel.COMPUTE),
            energy_j={EnergyComponent.BOARD: spec.active_power_w * latency_s},
            bytes_moved={MemoryLevel.SRAM: sram, MemoryLevel.FLASH: cycles.flash_read_bytes},
            bound_by=bound,
            executed_precision="w8a8" if op.anchor.compression.is_float else None,
        )


FAMILY = Family(name="mcu", spec_type=McuSpec, build=McuDevice, presets=PRESETS)
"""Registered under `edgesim.families` as 'mcu': presets in devices/mcu/presets/."""
