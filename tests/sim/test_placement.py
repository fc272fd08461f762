"""sim.placement: the fork/branch decomposition, YOLObile's branch rule and --place, by hand."""

from __future__ import annotations

import pytest

from sim import Cost, Phase, PhaseLabel, Stream, simulate
from sim.placement import Branch, branch_placement, forks, parse_place
from tests.sim.test_transfers import PerTarget, US, _fork_join
from workloads import NetworkBuilder, SpecError

COSTS = {"f": 10.0, "x": 20.0, "y": 4.0, "z": 5.0}


def test_fork_join_has_one_fork_of_two_branches():
    net = _fork_join()  # f -> x, y -> z
    (branches,) = forks(net)
    assert branches == (Branch(fork=0, ops=(1,), join=3), Branch(fork=0, ops=(2,), join=3))


def test_residual_identity_is_no_branch_and_separate_outputs_have_no_join():
    b = NetworkBuilder("res")
    x = b.input("x", (1, 8))
    a = b.linear(x, 8, name="a")
    c = b.linear(b.linear(a, 8, name="c1"), 8, name="c2")
    s = b.add(a, c, name="sum")  # identity edge a -> sum: an empty branch
    b.linear(s, 8, name="head1")
    b.linear(b.linear(s, 8, name="t1"), 8, name="t2")
    net = b.build(["head1", "t2"])
    (heads,) = forks(net)  # only `sum` forks into two non-empty branches
    names = [[net.ops[i].name for i in br.ops] for br in heads]
    assert net.ops[heads[0].fork].name == "sum" and heads[0].join is None
    assert names == [["head1"], ["t1", "t2"]]


def test_rule_moves_the_short_branch_when_the_frame_ends_sooner():
    # GPU only: 10 + 20 + 4 + 5 = 39 us. y on the cpu: 38 us (tests/sim/test_transfers.py).
    device = PerTarget(costs=COSTS)
    assert branch_placement(_fork_join(), device) == {"y": "cpu"}
    placement = branch_placement(_fork_join(), device, target="gpu", units=("cpu",))
    report = simulate(Stream(network=_fork_join(), placement=placement), device)
    assert report.latency_s == pytest.approx(38 * US)


def test_rule_keeps_a_branch_whose_hand_offs_outweigh_the_overlap():
    class SlowHandOff(PerTarget):
        def transfer(self, n_bytes, source, dest):  # 10 us each way: 10 + max(20, 18) + 10 + 5
            return Cost.serial(Phase(dest, 10 * US, PhaseLabel.TRANSFER))

    assert branch_placement(_fork_join(), SlowHandOff(costs=COSTS)) == {}


def test_rule_rejects_an_unknown_target_with_the_closest():
    with pytest.raises(SpecError, match=r"no target 'cpuu' \(did you mean 'cpu'\?\)"):
        branch_placement(_fork_join(), PerTarget(costs=COSTS), units=("cpuu",))


def test_place_reads_op_equals_target():
    device = PerTarget(costs=COSTS)
    assert parse_place(["y=cpu", " x = gpu "], _fork_join(), device) == {"y": "cpu", "x": "gpu"}


@pytest.mark.parametrize("text, match", [
    ("y", r"--place 'y': expected OP=TARGET"),
    ("=cpu", r"expected OP=TARGET"),
    ("yy=cpu", r"network 'forkjoin' has no op 'yy' \(did you mean 'y'\?\)"),
    ("y=cpuu", r"device 'two-units' has no target 'cpuu' \(did you mean 'cpu'\?\)"),
])
def test_place_errors_name_the_problem_and_the_closest(text, match):
    with pytest.raises(SpecError, match=match):
        parse_place([text], _fork_join(), PerTarget(costs=COSTS))
