"""`sim.device.memoized` / `cost_memo`: the one per-instance memo of pure costs every device uses."""

from __future__ import annotations

from dataclasses import dataclass

from sim.device import cost_memo, memoized


@dataclass(frozen=True)
class _Priced:
    rate: float
    _cache: dict = cost_memo()

    def cost(self, key, calls: list):
        return memoized(self._cache, key, lambda: calls.append(key) or key * self.rate)


def test_each_key_is_priced_once_and_the_memo_is_not_identity():
    calls = []
    device = _Priced(rate=2.0)
    assert [device.cost(k, calls) for k in (1, 2, 1, 2, 3)] == [2.0, 4.0, 2.0, 4.0, 6.0]
    assert calls == [1, 2, 3]
    assert device == _Priced(rate=2.0) and "_cache" not in repr(device)
    assert _Priced(rate=2.0)._cache == {}  # a fresh memo per instance, never shared
