"""Studies of the accelerator families (results/ folders), apart from the models they run: each
module is a `python -m accelerators.studies.NAME --out results/NAME` command built on
`sim.study.study_main`, reaching a device package only through its public model API or the
registry."""
