from math import comb

import numpy as np
import polars as pl
import pytest

from mirage.analysis.passk import default_ks, pass_at_k, passk_table


def exact(n, c, k):
    return 1.0 - comb(n - c, k) / comb(n, k)


@pytest.mark.parametrize("n", [1, 2, 7, 16, 64, 256])
def test_agrees_with_exact_combinatorics(n):
    for c in range(n + 1):
        for k in sorted({1, min(2, n), n // 2 or 1, n}):
            assert pass_at_k(n, c, k) == pytest.approx(exact(n, c, k), abs=1e-12)


def test_elementwise_on_arrays():
    rng = np.random.default_rng(0)
    n = rng.integers(1, 300, size=500)
    c = rng.integers(0, n + 1)
    k = rng.integers(1, n + 1)
    got = pass_at_k(n, c, k)
    want = [exact(int(a), int(b), int(d)) for a, b, d in zip(n, c, k)]
    np.testing.assert_allclose(got, want, atol=1e-10)
    assert got.shape == (500,)


def test_edges():
    assert pass_at_k(16, 0, 16) == 0.0
    assert pass_at_k(16, 16, 1) == 1.0
    assert pass_at_k(16, 1, 1) == pytest.approx(1 / 16)
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)


def test_default_ks():
    assert default_ks(16) == [1, 2, 4, 8, 16]
    assert default_ks(12) == [1, 2, 4, 8, 12]
    assert default_ks(1) == [1]


def test_table_averages_over_problems():
    rows = []
    for pid, c in [("p0", 0), ("p1", 2), ("p2", 4)]:
        for i in range(4):
            rows.append({"model": "m", "task": "t", "benchmark": "t", "problem_id": pid, "correct": i < c})
    table = passk_table(pl.DataFrame(rows))
    assert table["k"].to_list() == [1, 2, 4]
    assert table["pass_at_k"][0] == pytest.approx((0 + 0.5 + 1) / 3)
    assert table["pass_at_k"][2] == pytest.approx((0 + 1 + 1) / 3)
    assert set(table["num_problems"]) == {3} and set(table["n"]) == {4}
    with pytest.raises(ValueError, match="k=8 exceeds"):
        passk_table(pl.DataFrame(rows), ks=[8])
