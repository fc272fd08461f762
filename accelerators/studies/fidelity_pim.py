"""The PIM crossbar's rows of the fidelity table (`python -m sim.fidelity`): ISAAC's Table I
component powers per IMA (8 crossbars at full utilisation, one read per 100 ns), recomputed from
the pim-isaac preset's per-event energies times the events a fully busy IMA performs.

Every per-event energy of the preset is one of these powers divided by its event rate, so the
four rows are calibration points, held to 0.1 % (the preset's rounding); they catch a change of
an energy, an event count or the cycle time. PIM-QAT (arXiv 2209.08617) is the reference of the
accuracy studies (results/pim_noise, results/pim_bound) for trends only: they run a small
digits classifier, not the paper's networks, so no figure of that paper is compared.
"""

from __future__ import annotations

from accelerators.pim.device import FAMILY
from sim.fidelity import FidelityRow, Role

SOURCE = "ISAAC (Shafiee et al., ISCA 2016), Table I, per IMA"
BAND_PCT = (-0.1, 0.1)
CROSSBARS_PER_IMA = 8


def rows(*, fast: bool = False) -> list[FidelityRow]:
    """The four Table I powers (arithmetic on the preset: `fast` keeps them all)."""
    s = FAMILY.spec("isaac")
    # One ADC per crossbar converts its 128 columns each read; 1-bit DACs drive 128 rows.
    conversions = CROSSBARS_PER_IMA * s.cols
    powers_w = {
        "adc": ("ADC power (8 x 8-bit ADCs)", 16e-3, conversions * s.adc_conversion_energy_j),
        "dac": ("DAC power (8 x 128 1-bit DACs)", 4e-3,
                CROSSBARS_PER_IMA * s.rows * s.dac_energy_j),
        "memristor": ("memristor array power (8 x 128x128)", 2.4e-3,
                      CROSSBARS_PER_IMA * s.rows * s.cols * s.cell_read_energy_j),
        "shift-add": ("shift-and-add power", 0.2e-3, conversions * s.shift_add_energy_j),
    }
    return [FidelityRow(family="pim", case=f"isaac-ima-{key}-power", source=SOURCE,
                        quantity=f"pim-isaac IMA {what} at full utilisation", unit="mW",
                        published_value=published * 1e3, simulated_value=per_read_j / s.cycle_s * 1e3,
                        band_pct=BAND_PCT, role=Role.CALIBRATION,
                        note="the preset's per-event energy was derived from this power")
            for key, (what, published, per_read_j) in powers_w.items()]
