"""Studies of the general-purpose device families (results/ folders), apart from the models they
run: each module is a `python -m devices.studies.NAME ...` command built on
`sim.study.study_main`."""
