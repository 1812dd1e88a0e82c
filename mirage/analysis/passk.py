"""The unbiased pass@k estimator of Chen et al. (2021), vectorised."""

from __future__ import annotations

import numpy as np
import polars as pl

from mirage.core.schemas import PASSK


def pass_at_k(n, c, k) -> np.ndarray:
    """1 - C(n-c, k) / C(n, k), element-wise over broadcastable arrays; 1.0 where n - c < k."""
    n, c, k = np.broadcast_arrays(*(np.asarray(x, dtype=np.int64) for x in (n, c, k)))
    _check(n, c, k)
    out = np.ones(n.shape, dtype=np.float64)
    for kk in np.unique(k):
        sel = k == kk
        out[sel] = pass_at_k_grid(n[sel], c[sel], [kk])[0]
    return out


def pass_at_k_grid(n, c, ks) -> np.ndarray:
    """pass@k for every k in ``ks`` (rows) and every problem (columns).

    1 - prod_{i=n-c+1}^{n} (1 - k/i), as differences of prefix sums of
    log(1 - k/i) over i = 1..max(n), one row per k: no binomial coefficient
    is ever formed and no Python loop runs over problems or k.
    """
    n, c = (np.asarray(x, dtype=np.int64).ravel() for x in (n, c))
    k = np.asarray(ks, dtype=np.int64).ravel()
    _check(*np.broadcast_arrays(n[None, :], c[None, :], k[:, None]))
    fail = n - c
    i = np.arange(1, int(n.max()) + 1, dtype=np.float64)[None, :]
    kf = k[:, None].astype(np.float64)
    terms = np.where(i > kf, np.log1p(-kf / np.maximum(i, kf + 1)), 0.0)
    prefix = np.concatenate([np.zeros((len(k), 1)), np.cumsum(terms, axis=1)], axis=1)  # prefix[:, m] = sum_{i<=m}
    out = 1.0 - np.exp(prefix[:, n] - prefix[:, fail])
    return np.where(fail[None, :] >= k[:, None], out, 1.0)


def _check(n, c, k) -> None:
    if np.any(n < 1) or np.any(c < 0) or np.any(c > n):
        raise ValueError("pass_at_k needs n >= 1 and 0 <= c <= n")
    if np.any(k < 1) or np.any(k > n):
        raise ValueError("pass_at_k needs 1 <= k <= n")


def default_ks(n: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    ks = [1 << p for p in range(n.bit_length()) if 1 << p <= n]
    return ks + ([n] if ks[-1] != n else [])


CELL = ["model", "task", "benchmark"]


def passk_table(samples: pl.DataFrame, ks: list[int] | None = None) -> pl.DataFrame:
    """pass@k per (model, task, benchmark) from one row per sample with a boolean ``correct``.

    Problems of a cell with the same (n, c) have the same pass@k: each distinct
    pair is computed once and weighted by its number of problems."""
    per_problem = samples.lazy().group_by(*CELL, "problem_id").agg(pl.len().alias("n"), pl.col("correct").sum().alias("c"))
    pairs = (per_problem.group_by(*CELL, "n", "c").agg(pl.len().alias("problems"))
             .collect().sort(*CELL, "n", "c"))  # sorted: the float sums below add in a fixed order
    rows = []
    for (model, task, benchmark), grp in pairs.group_by(*CELL, maintain_order=True):
        n, c, weight = (grp[col].to_numpy() for col in ("n", "c", "problems"))
        n_min = int(n.min())
        cell_ks = ks or default_ks(n_min)
        if max(cell_ks) > n_min:
            raise ValueError(f"k={max(cell_ks)} exceeds the {n_min} samples drawn per problem for {model}/{task}/{benchmark}")
        values = pass_at_k_grid(n, c, cell_ks) @ weight / weight.sum()
        rows += [{"model": model, "task": task, "benchmark": benchmark, "k": k, "n": n_min,
                  "num_problems": int(weight.sum()), "pass_at_k": float(v)} for k, v in zip(cell_ks, values)]
    return PASSK.frame(rows).sort("model", "task", "benchmark", "k")
