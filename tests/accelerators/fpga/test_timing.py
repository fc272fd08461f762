"""`tile_cycles`: exact hand-computed counts."""

from __future__ import annotations

import pytest

from accelerators.fpga.timing import PIPELINE_DEPTH_CYCLES, k_steps, tile_cycles
from workloads import SpecError


@pytest.mark.parametrize(
    "rows, cols, k, n_tiles, expected",
    [
        (8, 8, 64, 1, 8 + 3),        # 8 beats + pipeline
        (8, 8, 65, 2, 2 * 9 + 3),    # reduction padded to 72: 9 beats per tile
        (4, 16, 1, 5, 5 * 1 + 3),
        (1, 1, 7, 3, 21 + 3),
        (8, 8, 64, 0, 0),            # nothing to run
    ],
)
def test_tile_cycles_hand_counts(rows, cols, k, n_tiles, expected):
    assert tile_cycles(rows, cols, k, n_tiles) == expected


def test_pipeline_depth_is_overridable_and_rows_do_not_change_the_count():
    assert tile_cycles(3, 4, 10, 2, pipeline_depth_cycles=0) == 6
    assert tile_cycles(1, 4, 10, 2) == tile_cycles(64, 4, 10, 2) == 6 + PIPELINE_DEPTH_CYCLES
    assert k_steps(10, 4) == 3


@pytest.mark.parametrize("field, args", [("rows", (0, 4, 4, 1)), ("cols", (4, 0, 4, 1)),
                                         ("k", (4, 4, 0, 1)), ("n_tiles", (4, 4, 4, -1)),
                                         ("rows", (2.5, 4, 4, 1)), ("k", (4, 4, True, 1))])
def test_tile_cycles_rejects_bad_sizes(field, args):
    with pytest.raises(SpecError, match=f"'{field}' must be an int"):
        tile_cycles(*args)

