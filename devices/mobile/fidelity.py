"""The mobile boards' rows of the fidelity table (`python -m sim.fidelity`): every reference of
the validation study (devices/mobile/studies.py) that a zoo network can run, simulated.

Calibration points (the TSM cases of devices/mobile/calibrate.py, and any transformer case the
study lists as calibrating) are held to the study's 5 %. A held-out reference is held to the
band the study states for it; one the study gives no band (not like-for-like: a published
network that differs from the zoo's) is an open gap against the +-25 % the study expects of
held-out cases.
"""

from __future__ import annotations

import re

from devices.mobile import studies
from devices.mobile.device import from_preset
from sim import Stream, simulate
from sim.fidelity import FidelityRow, Role

CALIBRATION_BAND_PCT = (-5.0, 5.0)
"""The validation study's tolerance for its calibration rows (the solver's match)."""
HELD_OUT_BAND_PCT = (-25.0, 25.0)
"""The accuracy the validation study expects on held-out cases (phone toolchains drift by
6-31 % between versions, shared/references.md)."""


def _case(ref, taken: set[str]) -> str:
    """A slug of paper, network and unit, unique in `taken` (which it joins)."""
    paper = re.sub(r"arXiv [0-9.]+|\(abstract\)|:.*", "", ref.source)
    network = re.sub(r"\(.*?\)", "", ref.what.split(",")[0])
    text = f"{paper} {network} {ref.preset} {ref.target}"
    case = base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    n = 1
    while case in taken:
        n += 1
        case = f"{base}-{n}"
    taken.add(case)
    return case


def rows(*, fast: bool = False) -> list[FidelityRow]:
    """One row per simulated reference (all of them take about 0.1 s, so `fast` keeps all)."""
    out, taken = [], set()
    for ref in studies._references():  # the study's own list: one source of truth
        if ref.build is None:
            continue
        report = simulate(Stream(network=ref.build(), target=ref.target), from_preset(ref.preset))
        band = getattr(ref, "band_pct", None)  # references that state their own band
        open_gap = False
        if ref.calibration:
            role, band = Role.CALIBRATION, band or CALIBRATION_BAND_PCT
        else:
            role = Role.HELD_OUT
            if band is None:
                band, open_gap = HELD_OUT_BAND_PCT, True
        note = ref.note or ("solved on this figure" if ref.calibration else "")
        if open_gap:
            note = (f"{note}. Not like-for-like, so no band is stated; the phone-GPU transformer "
                    "gap of issue 14 (CNN-only calibration)").lstrip(". ")
        out.append(FidelityRow(
            family="mobile", case=_case(ref, taken), source=ref.source,
            quantity=f"{ref.what} latency, {ref.preset} {ref.target}", unit="ms",
            published_value=ref.published_ms, simulated_value=report.latency_s * 1e3,
            band_pct=tuple(band), role=role, open_gap=open_gap, note=note))
    return out
