"""The FPGA rows of the fidelity table (`python -m sim.fidelity`): the published figures of the
Auto-ViT-Acc study (accelerators/studies/fpga_vit.py: DeiT-Base frame rates on the ZCU102,
P2-ViT's per-DSP throughput of its W8A8 design) and of the ILMPQ study
(accelerators/studies/fpga_ilmpq.py: ResNet-18 speedup over fixed point on the XC7Z020 and
XC7Z045), each simulated as the study does.

No FPGA figure calibrates the model (array sizes come from the allocator under each part's
budget), so every row is held out, to the studies' 25 %. The float32 baseline of Auto-ViT-Acc
is an open gap: even the leanest float32 engine the ZCU102's DSP slices allow
(fpga-zcu102-fp32-lean) runs below the published 10.0 FPS, since that rate needs 1,171 fp32 MACs
a cycle at 150 MHz and 90 % of the 2,520 DSP48E2 slices hold 1,134 at two slices each
(tests/accelerators/fpga/test_fp32_bound.py); the paper's baseline design is not published.
"""

from __future__ import annotations

from accelerators.studies import fpga_ilmpq, fpga_vit
from accelerators.fpga.factories import FAMILY, build_device, float32_spec, load_design
from sim import simulate
from sim.fidelity import FidelityRow, Role
from workloads.zoo import deit_base, resnet18

BAND_PCT = (-100 * fpga_vit.TOLERANCE, 100 * fpga_vit.TOLERANCE)
"""The studies' tolerance (both use 25 %)."""
FP32_GAP = ("open: the published float32 rate is above what the ZCU102's DSP48E2 slices can "
            "hold at two per fp32 multiply (1,171 MACs/cycle needed, 1,134 possible at 150 MHz); "
            "the paper's baseline design is not published")


def _fps(device, net) -> float:
    return 1.0 / simulate(net, device).latency_s


def _vit_rows() -> list[FidelityRow]:
    base = load_design()
    quant = build_device(fpga_vit.PART, base, name="fpga-zcu102")
    fp32 = build_device(fpga_vit.PART, float32_spec(base), name="fpga-zcu102-fp32")
    lean = FAMILY.device("fpga_zcu102_fp32_lean")
    net = deit_base()
    mixed_fps = _fps(quant, net.quantized("mixed", weight_bits=4, activation_bits=8,
                                          pot_ratio=fpga_vit.POT_RATIO).fused())
    fp32_fps, lean_fps = _fps(fp32, net.fused()), _fps(lean, net.fused())
    w8 = net.quantized("fixed", weight_bits=8, activation_bits=8).fused()
    w8_fps = _fps(quant, w8)
    n_dsp = quant.design.usage.n_dsp

    def row(case, quantity, unit, published, simulated, source=fpga_vit.AUTOVIT, gap=""):
        return FidelityRow(family="fpga", case=case, source=source, quantity=quantity, unit=unit,
                           published_value=published, simulated_value=simulated,
                           band_pct=BAND_PCT, role=Role.HELD_OUT, open_gap=bool(gap), note=gap)

    ratio_gap = "open: follows the float32 baseline's gap (the mixed design is in band)"
    return [
        row("autovitacc-deit-base-mixed-fps", "DeiT-Base mixed W4A8 frame rate, ZCU102", "FPS",
            fpga_vit.PUBLISHED_MIXED_FPS, mixed_fps),
        row("autovitacc-deit-base-fp32-fps", "DeiT-Base float32 baseline frame rate, ZCU102",
            "FPS", fpga_vit.PUBLISHED_FP32_FPS, fp32_fps, gap=FP32_GAP),
        row("autovitacc-mixed-over-fp32", "mixed / float32 frame-rate ratio, ZCU102", "x",
            fpga_vit.PUBLISHED_SPEEDUP, mixed_fps / fp32_fps, gap=ratio_gap),
        row("autovitacc-deit-base-fp32-lean-fps",
            "DeiT-Base float32 frame rate, leanest engine the DSPs allow (a bound)", "FPS",
            fpga_vit.PUBLISHED_FP32_FPS, lean_fps, gap=FP32_GAP),
        row("autovitacc-mixed-over-fp32-lean", "mixed / leanest float32 frame-rate ratio", "x",
            fpga_vit.PUBLISHED_SPEEDUP, mixed_fps / lean_fps, gap=ratio_gap),
        row("p2vit-w8a8-fps-per-dsp", "DeiT-Base fixed W8A8 frame rate per DSP, ZCU102", "FPS/DSP",
            fpga_vit.P2VIT_FIXED_W8A8_FPS_PER_DSP, w8_fps / n_dsp, source=fpga_vit.P2VIT),
        row("p2vit-w8a8-gops-per-dsp", "DeiT-Base fixed W8A8 GOPS per DSP, ZCU102", "GOPS/DSP",
            fpga_vit.P2VIT_FIXED_W8A8_GOPS_PER_DSP, 2 * w8.effective_macs * w8_fps / 1e9 / n_dsp,
            source=fpga_vit.P2VIT),
    ]


def _ilmpq_rows() -> list[FidelityRow]:
    net = resnet18()
    fixed = net.quantized("fixed", weight_bits=4, activation_bits=4).fused()
    ilmpq = net.quantized("multi_precision", weight_bits=4, activation_bits=4, high_bits=8,
                          high_ratio=fpga_ilmpq.HIGH_RATIO).fused()
    out = []
    for part in fpga_ilmpq.PARTS:
        designs = fpga_ilmpq._designs(*fpga_ilmpq.PRIMARY)  # the study's primary configuration
        base_s = simulate(fixed, build_device(part, designs["fixed"], name=f"{part}-fixed")).latency_s
        ours_s = simulate(ilmpq, build_device(part, designs["ilmpq"], name=f"{part}-ilmpq")).latency_s
        out.append(FidelityRow(
            family="fpga", case=f"ilmpq-resnet18-speedup-{part}", source=fpga_ilmpq.SOURCE,
            quantity=f"ResNet-18 ILMPQ (W4A4 + 5 % W8) / fixed W4A4 speedup, {part}", unit="x",
            published_value=fpga_ilmpq.PUBLISHED_SPEEDUP, simulated_value=base_s / ours_s,
            band_pct=BAND_PCT, role=Role.HELD_OUT,
            note="the 5 % of 8-bit rows is assumed (the paper's fractions were not retrieved)"))
    return out


def rows(*, fast: bool = False) -> list[FidelityRow]:
    """All nine rows (about 0.5 s, so `fast` keeps them all)."""
    return _vit_rows() + _ilmpq_rows()
