"""Shared pytest configuration (helpers live in tests/helpers.py).

Hypothesis runs derandomized and without its example database, so every run of the suite tries
the same inputs (deterministic, as the house rules ask) and writes nothing outside tmp_path.
"""

from hypothesis import settings

settings.register_profile("edgesim", derandomize=True, database=None)
settings.load_profile("edgesim")
