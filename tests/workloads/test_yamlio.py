"""The bounded YAML reader: bombs and deep nesting fail fast, ordinary aliases still work."""

from __future__ import annotations

import time

import pytest

from workloads import yamlio


def laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly():
    text = laughs(9)  # 9**9 = 387 M strings from about 500 bytes
    assert len(text) < 600
    start = time.perf_counter()
    with pytest.raises(yamlio.YamlError, match=r"aliases expand to over"):
        yamlio.safe_load(text)
    assert time.perf_counter() - start < 5


def test_modest_aliases_load():
    data = yamlio.safe_load(laughs(3))
    assert len(data["a2"]) == 9 and data["a2"][0] == data["a1"] and data["a1"][0] == ["lol"] * 9
    assert yamlio.safe_load("x: &e {a: 1}\ny: *e\n") == {"x": {"a": 1}, "y": {"a": 1}}


def test_deep_nesting_is_refused():
    with pytest.raises(yamlio.YamlError, match=r"nesting deeper than 100"):
        yamlio.safe_load("[" * 500 + "]" * 500)
    assert yamlio.safe_load("[" * 50 + "]" * 50) is not None


def test_duplicate_keys_and_floats():
    with pytest.raises(yamlio.YamlError, match=r"duplicate key 'a'"):
        yamlio.safe_load("a: 1\na: 2\n")
    assert yamlio.safe_load("x: 1e9") == {"x": "1e9"}  # YAML 1.1, as traces are read
    assert yamlio.safe_load("x: 1e9\ny: 117.9e9\nz: 2", yaml12_floats=True) == {
        "x": 1e9, "y": 117.9e9, "z": 2}
