"""Point sets: seeded synthetic generators at the three scales point-cloud networks see, and a
loader for user files.

- `object_points`: one object, ModelNet40-like: 1k-4k points sampled uniformly (by area) on the
  surfaces of a few boxes, cylinders and spheres, centred and scaled into the unit sphere as
  PointNet++'s ModelNet pipeline normalises its inputs.
- `indoor_room`: a room scan, S3DIS/ScanNet-like: floor, ceiling, four walls and furniture
  (tables, chairs, cabinets as boxes), sampled on the visible surfaces with sensor noise.
  `room_block` crops the 1 m x 1 m column PointNet++ trains on.
- `lidar_sweep`: a spinning-lidar sweep, KITTI-like: 64 beams from +2 deg to -24.8 deg of
  elevation (the Velodyne HDL-64E's field of view), ray-cast against a ground plane, cars,
  pedestrians, poles and building fronts; rings, ground and objects come out as a real sweep's do,
  10^4-10^5 points with a range-dependent intensity.
- `load_points`: .npy (N x >=3), .bin (KITTI's float32 x, y, z, reflectance) and .ply (ASCII or
  binary vertex x, y, z) files.

Every generator takes a `numpy.random.Generator`; no Python loop runs per point.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from workloads import EdgesimError, SpecError
from workloads.atomic import write_atomic

MAX_POINTS = 50_000_000
"""More points than any sensor sweep or scan an edge device would see at once."""
MAX_POINT_CHANNELS = 64
"""Most values per point in a point file (x, y, z and attributes)."""
MAX_POINT_FILE_BYTES = 2**31
"""Largest point file read (2 GiB: 50 M points of x, y, z, intensity at float64 fit)."""


class PointFileError(EdgesimError, ValueError):
    """A point file cannot be read: missing, unknown suffix, malformed header or payload."""


def check_count(n: int, what: str, low: int = 1) -> int:
    """`n` as an int; SpecError naming `what` unless it is an integer in [low, MAX_POINTS]."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not low <= n <= MAX_POINTS:
        raise SpecError(f"{what} must be an int in [{low}, {MAX_POINTS}] (got {n!r})")
    return int(n)


# --- surface sampling -----------------------------------------------------------------------


def _box_faces(centre: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 6 faces of an axis-aligned box as (origin, edge u, edge v) rows."""
    lo = centre - size / 2
    ex, ey, ez = (np.diag(size)[i] for i in range(3))
    origins = np.array([lo, lo + ez, lo, lo + ey, lo, lo + ex])
    us = np.array([ex, ex, ex, ex, ey, ey])
    vs = np.array([ey, ey, ez, ez, ez, ez])
    return origins, us, vs


def _sample_parallelograms(rng, origins, us, vs, n: int) -> np.ndarray:
    """n points uniform by area over parallelograms origin + a u + b v, a, b in [0, 1]."""
    areas = np.linalg.norm(np.cross(us, vs), axis=1)
    pick = rng.choice(len(origins), size=n, p=areas / areas.sum())
    a, b = rng.random((2, n, 1))
    return origins[pick] + a * us[pick] + b * vs[pick]


def object_points(rng: np.random.Generator, n_points: int = 1024, *, n_parts: int = 3) -> np.ndarray:
    """One synthetic object: (n_points, 3) float32 on the surfaces of `n_parts` primitives.

    Parts are boxes, cylinders (side surface) and spheres of random size, stacked and offset
    like the parts of a chair or a lamp; the result is centred and scaled to the unit sphere.
    """
    n_points = check_count(n_points, "n_points", 16)
    n_parts = check_count(n_parts, "n_parts")
    kinds = rng.integers(0, 3, size=n_parts)
    sizes = rng.uniform(0.2, 1.0, size=(n_parts, 3))
    centres = rng.normal(0.0, 0.4, size=(n_parts, 3))
    # Area of each part decides how many of the points it gets (uniform over the whole surface).
    areas = np.where(
        kinds == 0,
        2 * (sizes[:, 0] * sizes[:, 1] + sizes[:, 1] * sizes[:, 2] + sizes[:, 0] * sizes[:, 2]),
        np.where(kinds == 1, math.pi * sizes[:, 0] * sizes[:, 2], math.pi * sizes[:, 0] ** 2),
    )
    part = rng.choice(n_parts, size=n_points, p=areas / areas.sum())
    pts = np.empty((n_points, 3))
    u, v = rng.random((2, n_points))
    # Boxes: a face picked by area, then uniform on it.
    for i in np.flatnonzero(kinds == 0):
        sel = part == i
        origins, us, vs = _box_faces(centres[i], sizes[i])
        pts[sel] = _sample_parallelograms(rng, origins, us, vs, int(sel.sum()))
    # Cylinders (vertical side surface) and spheres, by their parametrisations.
    r = sizes[part, 0] / 2
    theta = 2 * math.pi * u
    cyl = kinds[part] == 1
    pts[cyl] = centres[part[cyl]] + np.stack(
        [r[cyl] * np.cos(theta[cyl]), r[cyl] * np.sin(theta[cyl]), (v[cyl] - 0.5) * sizes[part[cyl], 2]],
        axis=1,
    )
    sph = kinds[part] == 2
    z = 2 * v[sph] - 1  # uniform on the sphere: z uniform in [-1, 1]
    rho = np.sqrt(1 - z**2)
    pts[sph] = centres[part[sph]] + r[sph, None] * np.stack(
        [rho * np.cos(theta[sph]), rho * np.sin(theta[sph]), z], axis=1
    )
    pts -= pts.mean(axis=0)
    pts /= np.linalg.norm(pts, axis=1).max()
    return pts.astype(np.float32)


def indoor_room(
    rng: np.random.Generator,
    n_points: int = 200_000,
    *,
    size_m: tuple[float, float, float] = (6.0, 5.0, 3.0),
    n_furniture: int = 12,
    noise_m: float = 0.005,
) -> np.ndarray:
    """A room scan: (n_points, 3) float32 metres, floor at z = 0, on floor, ceiling, walls, furniture.

    Furniture are boxes on the floor (tables 0.75 m, chairs 0.45 m, cabinets up to 2 m high).
    Surfaces are sampled uniformly by area, with Gaussian sensor noise of `noise_m`.
    """
    n_points = check_count(n_points, "n_points", 16)
    sx, sy, sz = (float(s) for s in size_m)
    if not min(sx, sy, sz) > 0 or max(sx, sy, sz) > 1000:
        raise SpecError(f"room size_m must be positive metres up to 1000 (got {size_m})")
    origins = [(0, 0, 0), (0, 0, sz), (0, 0, 0), (0, sy, 0), (0, 0, 0), (sx, 0, 0)]
    us = [(sx, 0, 0), (sx, 0, 0), (sx, 0, 0), (sx, 0, 0), (0, sy, 0), (0, sy, 0)]
    vs = [(0, sy, 0), (0, sy, 0), (0, 0, sz), (0, 0, sz), (0, 0, sz), (0, 0, sz)]
    o, u, v = [np.array(a, dtype=float) for a in (origins, us, vs)]
    heights = rng.choice([0.45, 0.75, 0.9, 2.0], size=n_furniture)
    footprint = rng.uniform(0.4, 1.6, size=(n_furniture, 2))
    centres = np.column_stack(
        [rng.uniform(footprint[:, 0] / 2, sx - footprint[:, 0] / 2),
         rng.uniform(footprint[:, 1] / 2, sy - footprint[:, 1] / 2), heights / 2]
    )
    for c, f, h in zip(centres, footprint, heights):
        bo, bu, bv = _box_faces(c, np.array([f[0], f[1], h]))
        o, u, v = np.vstack([o, bo]), np.vstack([u, bu]), np.vstack([v, bv])
    pts = _sample_parallelograms(rng, o, u, v, n_points)
    pts += rng.normal(0.0, noise_m, size=pts.shape)
    return pts.astype(np.float32)


def room_block(
    rng: np.random.Generator, room: np.ndarray, n_points: int = 4096, *, block_m: float = 1.0
) -> np.ndarray:
    """PointNet++'s S3DIS input: n_points sampled from a random block_m x block_m column of a room."""
    n_points = check_count(n_points, "n_points")
    room = _as_points(room)
    lo, hi = room[:, :2].min(axis=0), room[:, :2].max(axis=0) - block_m
    corner = rng.uniform(lo, np.maximum(lo, hi))
    inside = np.all((room[:, :2] >= corner) & (room[:, :2] < corner + block_m), axis=1)
    idx = np.flatnonzero(inside)
    if idx.size == 0:
        raise SpecError(f"the {block_m} m block at {corner.round(2).tolist()} holds no points")
    pick = rng.choice(idx, size=n_points, replace=idx.size < n_points)
    return room[pick].astype(np.float32)


# --- lidar ----------------------------------------------------------------------------------

HDL64_ELEVATION_DEG = (2.0, -24.8)
"""Vertical field of view of the Velodyne HDL-64E (KITTI's sensor), deg, top and bottom beam."""
KITTI_SENSOR_HEIGHT_M = 1.73
"""Height of KITTI's lidar above the road (KITTI setup description)."""


_CULL_MARGIN_RAD = 1e-6
"""Angular margin of the azimuth culling in `_ray_boxes`: a ray that far outside a box's
azimuth span misses it by metres x 1e-6, some 10^8 times the rounding of the slab distances,
so culling never drops a hit the slab test would find."""


def _ray_boxes(origins_dirs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance along each unit ray (from the origin) to the nearest of axis-aligned boxes; inf if none.

    Slab method per (ray, box): t1, t2 = lo / d, hi / d per axis, entry = the largest of the
    near ends, exit = the smallest far end (NaN of 0 x inf, a ray parallel to a slab through the
    origin, skipped as `nanmax` / `nanmin` skip it); a hit if exit >= max(entry, 0) and
    exit > 0, at the entry (or the exit, from inside). Only the rays whose azimuth falls in a
    box's azimuth span (its footprint's corners seen from the origin, widened by
    `_CULL_MARGIN_RAD`) are tested against it: all rays for a footprint around the origin and
    near-vertical rays always. The values are those of testing every pair (the same operations
    on each pair; the minimum is exact), at a fraction of the pairs on a street scene.
    """
    dirs = np.asarray(origins_dirs, dtype=np.float64)
    best = np.full(len(dirs), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / dirs
    azimuth = np.arctan2(dirs[:, 1], dirs[:, 0])
    steep = np.hypot(dirs[:, 0], dirs[:, 1]) < 1e-6  # no azimuth to cull by

    def wrapped(angle):
        return (angle + math.pi) % (2 * math.pi) - math.pi

    for box_lo, box_hi in zip(np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)):
        if box_lo[0] <= 0 <= box_hi[0] and box_lo[1] <= 0 <= box_hi[1]:
            rays = np.arange(len(dirs))
        else:  # a footprint off the origin spans less than pi around its centre's azimuth
            centre = math.atan2((box_lo[1] + box_hi[1]) / 2, (box_lo[0] + box_hi[0]) / 2)
            cx, cy = np.meshgrid([box_lo[0], box_hi[0]], [box_lo[1], box_hi[1]])
            corners = wrapped(np.arctan2(cy, cx) - centre)
            delta = wrapped(azimuth - centre)
            rays = np.flatnonzero(steep | ((delta >= corners.min() - _CULL_MARGIN_RAD)
                                           & (delta <= corners.max() + _CULL_MARGIN_RAD)))
        if not len(rays):
            continue
        inv_r = inv[rays]
        with np.errstate(invalid="ignore"):
            t1 = box_lo * inv_r
            t2 = box_hi * inv_r
        near = np.minimum(t1, t2)
        far = np.maximum(t1, t2)
        tmin = np.fmax(np.fmax(near[:, 0], near[:, 1]), near[:, 2])
        tmax = np.fmin(np.fmin(far[:, 0], far[:, 1]), far[:, 2])
        hit = (tmax >= np.maximum(tmin, 0.0)) & (tmax > 0)
        t = np.where(hit, np.where(tmin > 0, tmin, tmax), np.inf)
        best[rays] = np.minimum(best[rays], t)
    return best


def lidar_sweep(
    rng: np.random.Generator,
    *,
    n_beams: int = 64,
    n_azimuth: int = 2048,
    max_range_m: float = 80.0,
    n_cars: int = 20,
    n_pedestrians: int = 8,
    n_poles: int = 16,
    noise_m: float = 0.02,
    dropout_ratio: float = 0.1,
) -> np.ndarray:
    """One sweep of a spinning lidar on a street: (N, 4) float32 x, y, z, reflectance (KITTI layout).

    `n_beams` rings spread over the HDL-64E's elevation range, `n_azimuth` firings per turn,
    ray-cast (`_ray_boxes`: per box, over the rays in its azimuth span) against the road plane, cars (1.8 x 4.2 x 1.5 m boxes),
    pedestrians (0.6 x 0.6 x 1.75 m), poles and two building fronts along the street. Returns
    beyond `max_range_m` and a random `dropout_ratio` (absorbing or specular surfaces) are lost,
    so a 64 x 2048 sweep keeps about 10^5 points, as a KITTI frame does.
    """
    n_beams = check_count(n_beams, "n_beams")
    n_azimuth = check_count(n_azimuth, "n_azimuth")
    if n_beams * n_azimuth > MAX_POINTS:
        raise SpecError(f"{n_beams} x {n_azimuth} rays exceeds {MAX_POINTS}")
    if not 0 < max_range_m <= 1000 or not 0 <= dropout_ratio < 1:
        raise SpecError(f"need 0 < max_range_m <= 1000 and 0 <= dropout_ratio < 1 "
                        f"(got {max_range_m}, {dropout_ratio})")
    h = KITTI_SENSOR_HEIGHT_M
    # Street scene in sensor coordinates (sensor at the origin, road at z = -h).
    road_half_width = rng.uniform(6.0, 10.0)
    boxes = []
    for n, (w, l, ht) in ((n_cars, (1.8, 4.2, 1.5)), (n_pedestrians, (0.6, 0.6, 1.75)),
                          (n_poles, (0.3, 0.3, 6.0))):
        x = rng.uniform(-max_range_m * 0.7, max_range_m * 0.7, size=n)
        lateral = road_half_width - 1.5 if ht == 1.5 else road_half_width + 1.0
        y = rng.choice([-1.0, 1.0], size=n) * rng.uniform(2.0, lateral, size=n)
        keep = np.hypot(x, y) > 3.0  # nothing on top of the ego car
        size = np.array([l, w, ht])
        for cx, cy in zip(x[keep], y[keep]):
            c = np.array([cx, cy, -h + ht / 2])
            boxes.append((c - size / 2, c + size / 2))
    for side in (-1.0, 1.0):  # building fronts behind the sidewalks
        y0 = side * (road_half_width + 4.0)
        boxes.append((np.array([-max_range_m, min(y0, y0 + side * 10), -h]),
                      np.array([max_range_m, max(y0, y0 + side * 10), -h + 15.0])))
    lo = np.array([b[0] for b in boxes])
    hi = np.array([b[1] for b in boxes])
    elev = np.deg2rad(np.linspace(*HDL64_ELEVATION_DEG, n_beams))
    azim = np.linspace(-math.pi, math.pi, n_azimuth, endpoint=False)
    el, az = np.meshgrid(elev, azim, indexing="ij")
    dirs = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1).reshape(-1, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = np.where(dirs[:, 2] < 0, -h / dirs[:, 2], np.inf)
    t = np.minimum(t_ground, _ray_boxes(dirs, lo, hi))
    t = t + rng.normal(0.0, noise_m, size=t.shape)
    keep = (t < max_range_m) & (rng.random(t.shape) >= dropout_ratio) & (t > 0.5)
    pts = dirs[keep] * t[keep, None]
    # Reflectance falls with range (1/r^2 received power, clipped) and varies by surface.
    reflectance = np.clip(rng.uniform(0.1, 0.6, size=len(pts)) * (10.0 / np.maximum(t[keep], 10.0)) ** 0.5, 0, 1)
    return np.column_stack([pts, reflectance]).astype(np.float32)


# --- user files -----------------------------------------------------------------------------

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


def _as_points(array, where: str = "points") -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[1] < 3 or array.shape[0] < 1:
        raise PointFileError(f"{where}: expected an (N, >=3) array of points (got shape {array.shape})")
    if array.shape[0] > MAX_POINTS:
        raise PointFileError(f"{where}: {array.shape[0]} points exceeds {MAX_POINTS}")
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array[:, :3])):
        raise PointFileError(f"{where}: coordinates must be finite numbers")
    return array


def load_points(path: str | Path) -> np.ndarray:
    """Read a point file into an (N, C >= 3) float32 array (x, y, z first).

    .npy: a 2-D array; .bin: KITTI velodyne layout, float32 records of x, y, z, reflectance;
    .ply: ASCII or binary (little or big endian) with a vertex element having x, y, z
    properties (all scalar vertex properties are returned, in file order). Raises
    PointFileError naming the file and what is wrong.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".bin", ".ply"):
        raise PointFileError(f"{path.name}: unknown point file suffix {suffix!r}; use .npy, .bin or .ply")
    try:
        n_bytes = path.stat().st_size
        if n_bytes > MAX_POINT_FILE_BYTES:
            raise PointFileError(f"{path.name}: {n_bytes:,} bytes, more than MAX_POINT_FILE_BYTES "
                                 f"= {MAX_POINT_FILE_BYTES:,}; subsample the point set")
        raw = path.read_bytes()
    except OSError as err:
        raise PointFileError(f"cannot read point file {str(path)!r}: {err.strerror}") from None
    if suffix == ".npy":
        array = _parse_npy(raw, path.name)
    elif suffix == ".bin":
        if len(raw) == 0 or len(raw) % 16:
            raise PointFileError(
                f"{path.name}: KITTI .bin holds float32 (x, y, z, reflectance) records of 16 bytes; "
                f"{len(raw)} bytes is not a positive multiple of 16"
            )
        array = np.frombuffer(raw, dtype="<f4").reshape(-1, 4)
    else:
        array = _parse_ply(raw, path.name)
    return _as_points(array, path.name).astype(np.float32)


def _parse_npy(raw: bytes, name: str) -> np.ndarray:
    """A .npy array, its header checked before anything is allocated: a header may claim any
    shape, so the count must fit MAX_POINTS x MAX_POINT_CHANNELS and match the payload."""
    import io

    from numpy.lib import format as npy

    buf = io.BytesIO(raw)
    try:
        version = npy.read_magic(buf)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(buf)
        else:
            shape, fortran, dtype = npy.read_array_header_2_0(buf)
    except (ValueError, SyntaxError, TypeError) as err:
        raise PointFileError(f"{name}: not a valid .npy array ({err})") from None
    if dtype.hasobject or dtype.kind not in "iuf" or len(shape) != 2:
        raise PointFileError(f"{name}: expected an (N, >=3) array of numbers "
                             f"(got shape {shape}, dtype {dtype})")
    if not (shape[0] <= MAX_POINTS and shape[1] <= MAX_POINT_CHANNELS):
        raise PointFileError(f"{name}: header claims {shape[0]} x {shape[1]} values, more than "
                             f"MAX_POINTS = {MAX_POINTS} x MAX_POINT_CHANNELS = {MAX_POINT_CHANNELS}")
    count = shape[0] * shape[1]
    body = raw[buf.tell():]
    if len(body) != count * dtype.itemsize:
        raise PointFileError(f"{name}: header claims {count} values of {dtype.itemsize} bytes but "
                             f"the file holds {len(body)} bytes")
    array = np.frombuffer(body, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C")


def _parse_ply(raw: bytes, name: str) -> np.ndarray:
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0 or raw.find(b"\n", end) < 0:
        raise PointFileError(f"{name}: not a PLY file (needs 'ply' ... 'end_header')")
    body_start = raw.index(b"\n", end) + 1
    header = raw[:end].decode("ascii", errors="replace").splitlines()
    fmt = None
    elements: list[tuple[str, int, list[tuple[str, str]]]] = []
    for line in header[1:]:
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format" and len(words) >= 2:
            fmt = words[1]
        elif words[0] == "element" and len(words) == 3:
            if not (words[2].isdigit() and int(words[2]) <= MAX_POINTS):
                raise PointFileError(f"{name}: PLY element {words[1]!r} count must be an integer "
                                     f"in [0, MAX_POINTS = {MAX_POINTS}] (got {words[2][:20]!r})")
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property" and elements:
            if words[1] == "list":
                elements[-1][2].append(("list", words[-1]))
            elif len(words) == 3 and words[1] in _PLY_TYPES:
                elements[-1][2].append((words[2], _PLY_TYPES[words[1]]))
            else:
                raise PointFileError(f"{name}: unsupported PLY property line {line!r}")
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise PointFileError(f"{name}: unknown PLY format {fmt!r}")
    if not elements or elements[0][0] != "vertex":
        raise PointFileError(f"{name}: the first PLY element must be 'vertex'")
    _, n, props = elements[0]
    names = [p for p, _ in props]
    if len(names) > MAX_POINT_CHANNELS or len(set(names)) != len(names):
        raise PointFileError(f"{name}: vertex needs distinct properties, at most "
                             f"MAX_POINT_CHANNELS = {MAX_POINT_CHANNELS} (got {len(names)})")
    if any(p == "list" for p in names) or not {"x", "y", "z"} <= set(names):
        raise PointFileError(f"{name}: vertex needs scalar x, y, z properties (got {names})")
    if fmt == "ascii":
        lines = raw[body_start:].split(b"\n", n)[:n]
        try:
            array = np.array([ln.split()[: len(names)] for ln in lines], dtype=np.float64)
        except ValueError:
            raise PointFileError(f"{name}: malformed ASCII vertex rows") from None
        if array.shape != (n, len(names)):
            raise PointFileError(f"{name}: expected {n} vertex rows of {len(names)} values")
    else:
        order = "<" if fmt == "binary_little_endian" else ">"
        dtype = np.dtype([(p, order + t) for p, t in props])
        if len(raw) - body_start < n * dtype.itemsize:
            raise PointFileError(f"{name}: file ends before its {n} vertices")
        rec = np.frombuffer(raw, dtype=dtype, count=n, offset=body_start)
        array = np.column_stack([rec[p].astype(np.float64) for p in names])
    xyz = [names.index(a) for a in "xyz"]
    rest = [i for i in range(len(names)) if i not in xyz]
    return array[:, xyz + rest]


def save_ply(path: str | Path, points: np.ndarray) -> None:
    """Write (N, 3) points as a binary little-endian PLY (for examples and tests)."""
    points = np.ascontiguousarray(_as_points(points)[:, :3], dtype="<f4")
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(points)}\n"
              "property float x\nproperty float y\nproperty float z\nend_header\n")
    write_atomic(path, header.encode("ascii") + points.tobytes())

