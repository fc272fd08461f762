"""Set-associative LRU cache simulation of a gather/scatter index stream, vectorised with numpy.

Algorithm (exact, no Python loop per access). Under LRU, an access to line x in a set with W
ways hits iff fewer than W *distinct other* lines of that set were touched since the previous
access to x (its *reuse distance* D < W; Mattson et al., "Evaluation techniques for storage
hierarchies", IBM Syst. J. 1970: LRU is a stack algorithm). Reuse distances are computed for all
accesses at once:

1. Stable-sort the accesses by set. Each set's accesses become one contiguous segment in time
   order, and the previous access p(i) to the same line lies in the same segment, so windows
   (p(i), i) never mix sets.
2. In a window, D(i) = (i - p(i) - 1) - #{accesses j in the window whose own previous access
   p(j) is also in the window}, i.e. window length minus repeats. Those repeats are exactly the
   reuse intervals (p(j), j) nested strictly inside (p(i), i).
3. Nested-interval counts for all intervals at once: order intervals by start; for each, count
   later intervals with a smaller end (a per-element inversion count). That is computed by a
   most-significant-bit-first radix refinement, O(n log n) in log2(n) vectorised passes:
   at bit b, within each group of equal higher bits, the elements with bit b = 1 count the
   earlier elements with bit b = 0 (`cumsum`), then each group is stably partitioned by bit b.

A miss count needs less: only whether each distance is below the associativity, which
`lru_miss_counts` decides directly (see there); `simulate_rows` uses it.

`lru_hits_reference` is the straightforward per-access simulation (an ordered dict per set) the
tests check the vectorised one against.

Rows of a feature matrix map to cache lines at a power-of-two (or line-multiple) stride, as a
hardware address generator lays them out; see `simulate_rows`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from sim.spec import PositiveInt, Spec
from workloads import SpecError


def _is_pow2(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


class CacheSpec(Spec):
    """Geometry of a set-associative LRU cache."""

    capacity_bytes: PositiveInt
    """Data capacity: line_bytes x ways x a power-of-two number of sets."""
    line_bytes: PositiveInt = 64
    """Bytes per line (the unit fetched from DRAM on a miss); a power of two."""
    ways: PositiveInt = 8
    """Lines per set (associativity); capacity_bytes / line_bytes for fully associative."""

    @field_validator("line_bytes")
    @classmethod
    def _line_is_a_power_of_two(cls, value: int) -> int:
        if not _is_pow2(value):
            raise PydanticCustomError("cross_field", "a power of two")
        return value

    @field_validator("ways")
    @classmethod
    def _sets_are_a_power_of_two(cls, value: int, info: ValidationInfo) -> int:
        capacity, line = info.data.get("capacity_bytes"), info.data.get("line_bytes")
        if capacity is None or line is None:
            return value  # reported on its own field
        if capacity % (line * value) or not _is_pow2(capacity // line // value):
            raise PydanticCustomError(
                "cross_field", "ways dividing capacity_bytes {capacity} B into a power-of-two "
                "number of sets of {line} B lines", {"capacity": capacity, "line": line})
        return value

    @property
    def n_sets(self) -> int:
        return self.capacity_bytes // (self.line_bytes * self.ways)


def _scattered(array: np.ndarray, positions: np.ndarray) -> np.ndarray:
    moved = np.empty_like(array)
    moved[positions] = array
    return moved


def _later_smaller_counts(values: np.ndarray) -> np.ndarray:
    """For each k, #{m > k : values[m] < values[k]}; values distinct non-negative ints.

    MSD radix refinement: the arrangement is kept sorted by (value >> (b + 1), original index);
    at bit b, an element with bit b = 1 is larger than every bit-0 element before it in its
    group (same higher bits, earlier index), which a cumulative sum counts; then each group is
    stably partitioned by bit b. All arrays are permuted together, so every step is a contiguous
    pass or one gather/scatter. int32 when it fits (halves the memory traffic).
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    dt = np.int32 if n < 2**30 and int(values.max()) < 2**30 else np.int64
    cur = values.astype(dt)
    orig = np.arange(n, dtype=dt)
    earlier_smaller = np.zeros(n, dtype=dt)
    positions = np.arange(n, dtype=dt)
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    for b in range(int(cur.max()).bit_length() - 1, -1, -1):
        one = (cur >> b) & 1
        high = cur >> (b + 1)
        np.not_equal(high[1:], high[:-1], out=new_group[1:])
        starts = np.flatnonzero(new_group).astype(dt)
        gid = np.cumsum(new_group, dtype=dt)
        gid -= 1
        zero = 1 - one
        zeros_incl = np.cumsum(zero, dtype=dt)
        zeros_before = zeros_incl - zero
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:] - 1
        ends[-1] = n - 1
        group_zeros = zeros_incl[ends] - zeros_before[starts]
        group_start = starts[gid]
        zeros_before_in_group = zeros_before - zeros_before[starts][gid]
        earlier_smaller += one * zeros_before_in_group
        # Bit-0 elements move to group_start + zeros before them in the group; bit-1 elements
        # to after the group's zeros, keeping their order: position + group zeros - zeros before.
        stay = group_start + zeros_before_in_group
        new_pos = positions + group_zeros[gid]
        new_pos -= zeros_before_in_group
        new_pos -= stay
        new_pos *= one
        new_pos += stay
        cur, orig, earlier_smaller = (_scattered(a, new_pos) for a in (cur, orig, earlier_smaller))
    # After the last bit the arrangement is sorted by value: an element's rank is its position.
    result = np.empty(n, dtype=np.int64)
    result[orig] = positions.astype(np.int64) - earlier_smaller
    return result


def reuse_distances(blocks: np.ndarray, n_sets: int) -> np.ndarray:
    """LRU reuse distance of every access (distinct other blocks of its set since its last use).

    `blocks` are block (line) addresses in access order; a block's set is block % n_sets.
    Returns int64 per access, -1 for a first access (a cold miss).
    """
    blocks = np.asarray(blocks, dtype=np.int64)
    if blocks.ndim != 1:
        raise SpecError(f"an index stream must be 1-D (got shape {blocks.shape})")
    if not isinstance(n_sets, int) or n_sets < 1:
        raise SpecError(f"n_sets must be an int >= 1 (got {n_sets!r})")
    n = len(blocks)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if blocks.min() < 0:
        raise SpecError("block addresses must be >= 0")
    by_set = np.argsort(blocks % n_sets, kind="stable")
    seq = blocks[by_set]
    by_block = np.argsort(seq, kind="stable")  # positions grouped by block, ascending
    same = seq[by_block[1:]] == seq[by_block[:-1]]
    prev = np.full(n, -1, dtype=np.int64)
    prev[by_block[1:][same]] = by_block[:-1][same]
    ends = np.flatnonzero(prev >= 0)
    starts = prev[ends]
    # Intervals (start, end); starts are distinct, so ordering by start is a permutation.
    by_start = np.argsort(starts, kind="stable")
    nested = np.empty(len(ends), dtype=np.int64)
    nested[by_start] = _later_smaller_counts(ends[by_start])
    dist_seq = np.full(n, -1, dtype=np.int64)
    dist_seq[ends] = (ends - starts - 1) - nested
    dist = np.empty(n, dtype=np.int64)
    dist[by_set] = dist_seq
    return dist


def lru_hits(blocks: np.ndarray, n_sets: int, ways: int) -> np.ndarray:
    """Hit (True) or miss of every access to a cache of n_sets x ways blocks under LRU."""
    if not isinstance(ways, int) or ways < 0:
        raise SpecError(f"ways must be an int >= 0 (got {ways!r})")
    d = reuse_distances(blocks, n_sets)
    return (d >= 0) & (d < ways)


def _window_max(values: np.ndarray, width: int) -> np.ndarray:
    """out[t] = max(values[t : t + width]) for t in 0 .. len(values) - width, by doubling:
    ceil(log2(width)) vectorised passes (a sparse table's two overlapping halves at the end)."""
    out, span = values, 1
    while 2 * span <= width:
        out = np.maximum(out[:-span], out[span:])
        span *= 2
    if span < width:
        out = np.maximum(out[:len(out) - (width - span)], out[width - span:])
    return out


def lru_miss_counts(blocks: np.ndarray, n_sets: int, ways: int) -> tuple[int, int]:
    """(misses, cold misses) of a block stream through an n_sets x ways LRU cache.

    Exact, like `lru_hits`, but decides only whether each reuse distance is below `ways`,
    which is all a miss count needs. Accesses are ranked by time within their set (a stable
    radix sort on the set) and paired with the previous use of their block; an access whose
    set saw at most `ways` - 1 other accesses since the block's previous use hits outright
    (distinct blocks <= accesses). Of the rest, a window whose first `ways` accesses are all
    first touches of their block inside it (their own previous use lies before the window)
    misses; one sliding maximum of the previous-use ranks decides that for every window at
    once (an offset-major gather stream's windows are nearly all such). Only the others (a
    few % of a gather stream) are scanned, one position of their window per vectorised step,
    counting first touches and stopping at `ways` of them. On the MinkUNet streams, whose
    scanned windows are at most a few dozen accesses, that is about 5x faster than the full
    reuse distances, and the sliding maximum makes all-miss streams about 2.7x faster again.
    """
    blocks = np.asarray(blocks, dtype=np.int64)
    if not isinstance(ways, int) or ways < 0:
        raise SpecError(f"ways must be an int >= 0 (got {ways!r})")
    if not isinstance(n_sets, int) or n_sets < 1:
        raise SpecError(f"n_sets must be an int >= 1 (got {n_sets!r})")
    n = len(blocks)
    if n == 0:
        return 0, 0
    if blocks.min() < 0:
        raise SpecError("block addresses must be >= 0")
    small = int(blocks.max()) < 2**31 and n < 2**31
    b = blocks.astype(np.int32) if small else blocks
    key = b & (n_sets - 1) if _is_pow2(n_sets) else b % n_sets
    if n_sets <= 1 << 8:
        key = key.astype(np.uint8)  # numpy sorts 8- and 16-bit keys stably by radix, a pass a byte
    elif n_sets <= 1 << 16:
        key = key.astype(np.uint16)
    index = np.int32 if small else np.int64  # half the memory traffic when it fits
    rank = np.empty(n, dtype=index)  # position in the set-major, time-ordered sequence
    rank[np.argsort(key, kind="stable")] = np.arange(n, dtype=index)
    # Grouping by block (stably) pairs each use with the block's previous one; a gather stream
    # is nearly sorted by row, which the stable sort (timsort runs) exploits.
    by_block = np.argsort(b, kind="stable")
    sorted_blocks = b[by_block]
    same = sorted_blocks[1:] == sorted_blocks[:-1]  # pair (previous use, reuse) of one block
    ranks = rank[by_block]
    cold = n - int(np.count_nonzero(same))
    if ways == 0:
        return n, cold
    gap = ranks[1:] - ranks[:-1]  # accesses of the set in the window, plus one
    pairs = np.flatnonzero(same & (gap > ways))
    misses = 0
    if len(pairs):
        prev_rank = np.full(n, -1, dtype=index)  # by rank: rank of the block's previous use
        prev_rank[ranks[1:][same]] = ranks[:-1][same]
        start = ranks[pairs]
        end = ranks[pairs + 1]
        # A window whose first `ways` positions (each window holds at least that many) are all
        # first touches, i.e. whose previous uses all lie before the window, is a miss. One
        # sliding maximum of prev_rank over `ways` positions decides that for every window with
        # one look-up each (most windows of an offset-major stream are such misses).
        fresh = _window_max(prev_rank, ways)[start + 1] < start
        misses = int(np.count_nonzero(fresh))
        keep = ~fresh
        s, length = start[keep], end[keep] - start[keep] - 1  # window start, accesses inside
        # The others: count first touches among their first `ways` positions (none can reach
        # `ways`: those windows were the fresh ones), then one more position per step, keeping
        # only windows still open and below `ways`. At j == end, prev_rank[j] == start (the
        # block's own previous use), which counts nothing, so no window reads past its end.
        distinct = np.zeros(len(s), dtype=index)
        for step in range(1, ways + 1):
            distinct += prev_rank[s + step] < s
        step = ways
        while len(s):  # the rest, one position per step
            step += 1
            distinct += prev_rank[s + step] < s
            evicted = distinct >= ways
            misses += int(np.count_nonzero(evicted))
            open_ = ~evicted & (length > step)
            s, length, distinct = s[open_], length[open_], distinct[open_]
    return cold + misses, cold


def lru_hits_reference(blocks, n_sets: int, ways: int) -> np.ndarray:
    """The same as `lru_hits`, by simulating each access in turn (for tests; slow)."""
    sets = [OrderedDict() for _ in range(n_sets)]
    hits = np.zeros(len(blocks), dtype=bool)
    for i, b in enumerate(int(x) for x in blocks):
        s = sets[b % n_sets]
        if b in s:
            hits[i] = True
            s.move_to_end(b)
        else:
            s[b] = None
            if len(s) > ways:
                s.popitem(last=False)
    return hits


@dataclass(frozen=True, kw_only=True)
class StreamTraffic:
    """What replaying a row-index stream through a cache cost in DRAM traffic."""

    n_accesses: int
    """Row accesses (the stream length)."""
    n_misses: int
    """Misses, counted in fetch blocks (a block is a line, or all the lines of one row)."""
    n_cold_misses: int
    """First touches of a block (misses no cache could avoid)."""
    block_bytes: int
    """Bytes fetched from DRAM per miss."""

    blocks_per_access: int = 1
    """Blocks one row access touches (above 1 only when a row spans a non-power-of-two
    number of lines and is simulated line by line)."""

    @property
    def miss_bytes(self) -> int:
        """DRAM bytes read to serve the stream."""
        return self.n_misses * self.block_bytes

    @property
    def hit_ratio(self) -> float:
        """Fraction of block look-ups that hit (1.0 for an empty stream)."""
        lookups = self.n_accesses * self.blocks_per_access
        return 1.0 - self.n_misses / lookups if lookups else 1.0


def row_stride_bytes(row_bytes: int, line_bytes: int) -> int:
    """Stride of rows in the cached address space: the next power of two below a line, else
    the next multiple of the line (rows never share a line with a part of another row)."""
    if row_bytes < 1:
        raise SpecError(f"row_bytes must be >= 1 (got {row_bytes})")
    if row_bytes < line_bytes:
        return 1 << (row_bytes - 1).bit_length()
    return math.ceil(row_bytes / line_bytes) * line_bytes


def simulate_rows(rows: np.ndarray, row_bytes: int, cache: CacheSpec) -> StreamTraffic:
    """Replay a stream of row indices of a (n_rows, row_bytes) matrix through `cache`.

    Rows sit at `row_stride_bytes`; lines interleave over sets. When a row spans k lines with k
    a power of two, all k lines of a row share its hit or miss (they sit in k consecutive sets
    that see the same row sequence), so the simulation runs on rows with n_sets / k sets (or,
    for k > n_sets, one set of floor(ways x n_sets / k) rows): exact and k times shorter.
    Otherwise each line is simulated.
    """
    rows = np.asarray(rows, dtype=np.int64)
    stride = row_stride_bytes(row_bytes, cache.line_bytes)
    line, sets, ways = cache.line_bytes, cache.n_sets, cache.ways
    if stride <= line:
        blocks, n_sets, n_ways, block_bytes, per = rows // (line // stride), sets, ways, line, 1
    else:
        k = stride // line
        if _is_pow2(k):
            if k <= sets:
                blocks, n_sets, n_ways = rows, sets // k, ways
            else:
                blocks, n_sets, n_ways = rows, 1, (ways * sets) // k
            block_bytes, per = stride, 1
        else:  # expand each row to its k lines
            blocks = (rows[:, None] * k + np.arange(k)).ravel()
            n_sets, n_ways, block_bytes, per = sets, ways, line, k
    misses, cold = lru_miss_counts(blocks, n_sets, n_ways)
    return StreamTraffic(n_accesses=len(rows), n_misses=misses, n_cold_misses=cold,
                         block_bytes=block_bytes, blocks_per_access=per)
