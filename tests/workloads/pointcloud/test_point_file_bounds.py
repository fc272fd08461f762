"""Point files whose headers claim absurd sizes are refused before any allocation (issue 13)."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from workloads.pointcloud import pointsets as ps


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def test_npy_header_claiming_a_trillion_points(tmp_path):
    raw = npy_bytes(np.zeros((4, 3), dtype=np.float32))
    forged = raw.replace(b"(4, 3)", b"(10**12, 3)".replace(b"10**12", b"1000000000000"))
    path = tmp_path / "big.npy"
    path.write_bytes(forged)
    t0 = time.perf_counter()
    with pytest.raises(ps.PointFileError, match="more than MAX_POINTS = 50000000"):
        ps.load_points(path)
    assert time.perf_counter() - t0 < 1.0


def test_npy_header_disagreeing_with_its_payload(tmp_path):
    raw = npy_bytes(np.zeros((4, 3), dtype=np.float32))
    path = tmp_path / "short.npy"
    path.write_bytes(raw.replace(b"(4, 3)", b"(9, 3)"))
    with pytest.raises(ps.PointFileError, match="header claims 27 values of 4 bytes but the file holds 48"):
        ps.load_points(path)


def test_npy_object_arrays_are_refused(tmp_path):
    path = tmp_path / "obj.npy"
    path.write_bytes(npy_bytes(np.zeros((2, 3), dtype=np.float64)).replace(b"'<f8'", b"'|O' "))
    with pytest.raises(ps.PointFileError):
        ps.load_points(path)


def test_a_good_npy_still_loads(tmp_path):
    pts = np.arange(12, dtype=np.float64).reshape(4, 3)
    path = tmp_path / "ok.npy"
    path.write_bytes(npy_bytes(pts))
    assert np.array_equal(ps.load_points(path), pts.astype(np.float32))


@pytest.mark.parametrize("count, message", [
    (b"99999999999999", "count must be an integer in \\[0, MAX_POINTS = 50000000\\]"),
    (b"-5", "count must be an integer"),
    (b"many", "count must be an integer"),
])
def test_ply_vertex_counts_are_bounded(tmp_path, count, message):
    path = tmp_path / "p.ply"
    path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex " + count
                     + b"\nproperty float x\nproperty float y\nproperty float z\nend_header\n")
    with pytest.raises(ps.PointFileError, match=message):
        ps.load_points(path)


def test_ply_without_a_newline_after_the_header(tmp_path):
    path = tmp_path / "p.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 1\nend_header")
    with pytest.raises(ps.PointFileError, match="not a PLY file"):
        ps.load_points(path)


def test_oversized_point_files_are_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "p.bin"
    path.write_bytes(bytes(64))
    monkeypatch.setattr(ps, "MAX_POINT_FILE_BYTES", 32)
    with pytest.raises(ps.PointFileError, match="more than MAX_POINT_FILE_BYTES = 32"):
        ps.load_points(path)


def test_point_cloud_commands_refuse_negative_seeds(capsys):
    """Issue 13: `--seed -5` reached numpy and came back as a ValueError."""
    from sim.cli import main

    for argv in (["pointcloud", "workload", "pointnet2-cls", "--seed", "-1"],
                 ["pointcloud", "study", "--scale", "small", "--seed", "-5", "--out", "unused"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--seed: must be an integer in [0, 2**64)" in err
