"""The model zoo's rows of the fidelity table (`python -m sim.fidelity`): MACs and parameters of
every zoo model that has published figures, counted from the built networks.

The figures and tolerances are `workloads.zoo.published` (which tests/workloads/test_zoo*.py
assert too): parameter counts from torchvision, timm, Hugging Face and pytorchcv are exact; a MAC count
passes when it rounds (or, for the TF-slim MobileNetV2 table, truncates) to the published
figure, so its band is half a unit of the last published digit (or [0, one unit)). Every row is
held out: no count is tuned. This contributor lives in `sim` because `workloads` imports
nothing of ours (the FidelityRow type is in sim). PointPillars has no published count (a hand
count is tested instead), so it has no row here.
"""

from __future__ import annotations

from collections.abc import Callable

import workloads.zoo as zoo
from sim.fidelity import FidelityRow, Role
from workloads import Network, OpKind
from workloads.zoo.mobilenet import TF_SLIM_MOBILENETV2_MMACS
from workloads.zoo.published import (
    DARKNET_YOLOV4_FLOPS,
    DARKNET_YOLOV4_INPUTS_PX,
    MAC_COUNTS,
    MCUNET_README,
    PAPER_COUNTS,
    PARAMETER_COUNTS,
    Quantity,
)

TF_SLIM = "TF-slim MobileNetV2 checkpoint table (MACs, M)"


def _rounding_band(published: float, half_unit: float) -> tuple[float, float]:
    pct = 100 * half_unit / published
    return (-pct, pct)


def _row(case: str, source: str, quantity: str, unit: str, published: float, simulated: float,
         band: tuple[float, float], note: str = "") -> FidelityRow:
    return FidelityRow(family="zoo", case=case, source=source, quantity=quantity, unit=unit,
                       published_value=float(published), simulated_value=float(simulated),
                       band_pct=band, role=Role.HELD_OUT, note=note)


def _kept_ratio(net: Network) -> float:
    convs = [op for op in net if op.kind is OpKind.CONV2D]
    weights = [op.weight_shape[0] * op.weight_shape[1] * op.weight_shape[2] * op.weight_shape[3]
               for op in convs]
    return sum(weights) / sum(w * op.compression.density for w, op in zip(weights, convs))


def rows(*, fast: bool = False) -> list[FidelityRow]:
    """Every count (building the networks takes about a second, so `fast` keeps them all)."""
    built: dict[str, Network] = {}

    def net(name: str, build: Callable[[], Network]) -> Network:
        if name not in built:
            built[name] = build()
        return built[name]

    out = []
    for c in PARAMETER_COUNTS:
        out.append(_row(f"{c.model}-params", c.source, f"{c.model} parameters", "parameters",
                        c.value, c.counted(net(c.model, c.build)), (0.0, 0.0)))
    for c in MAC_COUNTS:
        out.append(_row(f"{c.model}-macs", c.source, f"{c.model} MACs", "G MACs", c.value,
                        c.counted(net(c.model, c.build)), _rounding_band(c.value, c.half_unit)))
    for c in (*MCUNET_README, *PAPER_COUNTS):
        if c.quantity is Quantity.MACS:
            case, quantity, unit = f"{c.model}-macs", f"{c.model} MACs", "M MACs"
        else:
            case, quantity, unit = f"{c.model}-params", f"{c.model} parameters", "M parameters"
        out.append(_row(case, c.source, quantity, unit, c.value, c.counted(net(c.model, c.build)),
                        _rounding_band(c.value, c.half_unit)))
    for (width, res), mmacs in sorted(TF_SLIM_MOBILENETV2_MMACS.items()):
        n = zoo.mobilenetv2(width=width, resolution=res)
        out.append(_row(f"mobilenetv2-w{width:g}-r{res}-macs", TF_SLIM,
                        f"MobileNetV2 width {width:g}, {res}x{res} MACs", "M MACs", mmacs,
                        n.macs / 1e6, (0.0, 100.0 / mmacs),
                        note="the table truncates to whole millions: [published, published + 1)"))
    for res, c in zip(DARKNET_YOLOV4_INPUTS_PX, DARKNET_YOLOV4_FLOPS):
        out.append(_row(f"yolov4-r{res}-flops", c.source, f"YOLOv4 {res}x{res} FLOPs (2 x MACs)",
                        "G FLOPs", c.value, c.counted(c.build()), (-c.band_pct, c.band_pct),
                        note="Darknet also counts its shortcut adds (about 0.03 BFLOPs)"))
    out.append(_row("yolobile-compression", "YOLObile (arXiv 2009.05697) abstract: 14x",
                    "YOLObile conv weights / kept weights (released block-punched ratios)", "x",
                    14.0, _kept_ratio(zoo.yolobile()), (-0.1, 0.1),
                    note="the released ratios are rounded to 0.01 and 1/16"))
    return out
