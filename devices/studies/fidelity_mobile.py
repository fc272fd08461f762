"""The mobile boards' rows of the fidelity table (`python -m sim.fidelity`): every reference of
the validation study (devices/studies/mobile.py) that a zoo network can run, simulated.

Calibration points (the TSM cases of devices/mobile/calibrate.py, and the transformer cases
the study lists as calibrating) are held to the study's 5 %. A held-out reference is held to
the band the study states for it, capped at the +-25 % the project holds held-out figures to
(so a band widened to take in a known miss, such as MobileBERT's -25..+60 %, becomes an open
gap with its real error instead); a reference the study gives no band is held to +-25 %.
"""

from __future__ import annotations

import re

from devices.studies import mobile as studies
from devices.studies import yolobile_coexec
from sim import Stream, simulate
from sim.fidelity import FidelityRow, Role

CALIBRATION_BAND_PCT = (-5.0, 5.0)
"""The validation study's tolerance for its calibration rows (the solver's match)."""
HELD_OUT_BAND_PCT = (-25.0, 25.0)
"""The accuracy the validation study expects on held-out cases (phone toolchains drift by
6-31 % between versions, shared/references.md)."""


def _case(ref, taken: set[str]) -> str:
    """A slug of paper, network and unit, unique in `taken` (which it joins)."""
    paper = re.sub(r"arXiv [0-9.]+( / [0-9.]+)?|\(abstract\)|:.*", "", ref.source)
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
        report = simulate(Stream(network=ref.build(), target=ref.target), ref.board())
        simulated_ms = report.latency_s * 1e3
        study_band = getattr(ref, "band_pct", None)  # references that state their own band
        note = ref.note or ("solved on this figure" if ref.calibration else "")
        open_gap = False
        if ref.calibration:
            role, band = Role.CALIBRATION, tuple(study_band or CALIBRATION_BAND_PCT)
        else:
            role = Role.HELD_OUT
            low, high = study_band or HELD_OUT_BAND_PCT
            band = (max(low, HELD_OUT_BAND_PCT[0]), min(high, HELD_OUT_BAND_PCT[1]))
            error_pct = 100 * (simulated_ms / ref.published_ms - 1)
            open_gap = not band[0] <= error_pct <= band[1]
            if tuple(band) != tuple(study_band or band):
                note += (f" (the validation study holds it to {low:+g}..{high:+g} %; here the "
                         f"project's held-out 25 % caps the band)")
            if open_gap and ref.what.startswith("MobileBERT"):
                note += (". Known: layer norm and GELU lowered to single-threaded primitive ops "
                         "(calibrated on the paper's 192 ms MobileBERT w/o OPT) took it from +54 %; "
                         "what is left is MobileBERT's GEMMs at about BERT-base's rate per MAC and "
                         "its elementwise ops streamed through DRAM (results/mobile_validation)")
            if open_gap:
                note = f"open: {note}" if study_band else (
                    f"open: {note}; not like-for-like, so the study states no band")
        out.append(FidelityRow(
            family="mobile", case=_case(ref, taken), source=ref.source,
            quantity=f"{ref.what} latency, {ref.preset} {ref.target}", unit="ms",
            published_value=ref.published_ms, simulated_value=simulated_ms,
            band_pct=band, role=role, open_gap=open_gap, note=note))
    out += yolobile_coexec.fidelity_rows(fast=fast)  # GPU-only vs GPU+CPU on the S20
    return out
