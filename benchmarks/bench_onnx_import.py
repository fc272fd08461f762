"""How long ONNX import takes: the committed real exports, full-size patterns, and reading the
compression from full-size weights.

    python benchmarks/bench_onnx_import.py [--repeat 5]

Prints the median wall time of `load_onnx` for each committed export (tests/data/onnx, both
exporters), for the full-size ResNet-50, MobileNetV2, ViT-B/16 and BERT-base patterns of
tests/workloads/test_onnx_full_size.py with shapes only (``read_weights=False``), and for
ResNet-50 with real weight values (25.6 M, 2:4-pruned convs), where sparsity detection reads them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the full-size builders live with their tests

from tests.workloads.test_onnx_full_size import CASES  # noqa: E402
from workloads.onnx_import import load_onnx  # noqa: E402
from timing import median_s  # noqa: E402



def with_values(model, rng: np.random.Generator):
    """`model` with its external weight references replaced by values; convs pruned 2:4."""
    from onnx import TensorProto

    for t in model.graph.initializer:
        if t.data_location != TensorProto.EXTERNAL:
            continue
        shape = tuple(t.dims)
        w = rng.random(shape, dtype=np.float32) + 0.5
        if len(shape) == 4 and shape[1] % 4 == 0:  # zero 2 of every 4 input channels
            w.reshape(shape[0], shape[1] // 4, 4, -1)[:, :, :2] = 0
        t.data_location = TensorProto.DEFAULT
        del t.external_data[:]
        t.raw_data = w.tobytes()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'model':<36}{'ops':>6}{'GMACs':>9}{'M params':>10}{'median ms':>11}")
    for path in sorted((ROOT / "tests" / "data" / "onnx").glob("*.onnx")):
        net = load_onnx(path)
        ms = 1e3 * median_s(lambda p=path: load_onnx(p), args.repeat)
        print(f"{path.name:<36}{len(net):>6}{net.macs / 1e9:>9.4f}{net.params / 1e6:>10.4f}{ms:>11.1f}")
    for name, (make, _) in CASES.items():
        model = make()
        net = load_onnx(model, read_weights=False)
        ms = 1e3 * median_s(lambda m=model: load_onnx(m, read_weights=False), args.repeat)
        print(f"{name + ' (shapes only)':<36}{len(net):>6}{net.macs / 1e9:>9.3f}"
              f"{net.params / 1e6:>10.2f}{ms:>11.1f}")
    model = with_values(CASES["resnet50"][0](), np.random.default_rng(0))
    net = load_onnx(model)
    n_m = sum(op.compression.sparsity.value == "n_m" for op in net.ops)
    ms = 1e3 * median_s(lambda: load_onnx(model), max(1, args.repeat // 2))
    print(f"{'resnet50 (weights read, 2:4 convs)':<36}{len(net):>6}{net.effective_macs / 1e9:>9.3f}"
          f"{net.params / 1e6:>10.2f}{ms:>11.1f}   {n_m} ops detected 2:4")


if __name__ == "__main__":
    main()
