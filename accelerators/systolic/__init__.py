"""Systolic-array accelerators on the shared `sim.systolic` template.

`device`: the `systolic` device family (YAML presets: TPU v1, Gemmini's default, an
Edge-TPU-class array); `scalesim_files` and `cli`: `edgesim systolic`, which runs SCALE-Sim v3
config and topology files unchanged. The study beside SCALE-Sim itself is
`accelerators.studies.scalesim_validation`.
"""
