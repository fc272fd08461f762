"""Run metadata hashes the device and networks on first use, with the same values as before."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import asdict

from sim import simulate
from tests.helpers import chain, installed_device


def test_hashes_are_computed_when_first_read_and_survive_pickling():
    net, device = chain(3), installed_device("roofline-adreno650")
    meta = simulate(net, device, seed=4).metadata
    assert "device_hash" not in meta.__dict__  # a simulation alone does not hash
    assert meta.device_hash == hashlib.sha256(repr(device).encode()).hexdigest()[:16]
    assert meta.streams == (("chain", net.digest[:16]),)
    assert asdict(meta)["seed"] == 4 and asdict(meta)["device_hash"] == meta.device_hash
    assert pickle.loads(pickle.dumps(meta)) == meta
